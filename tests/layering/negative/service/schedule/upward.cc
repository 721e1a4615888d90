// The math may not know the job layer above it.
#include "service/job/job.h"
