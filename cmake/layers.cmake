# The layers of lrsched and what each may include: the dependency arrows of
# DESIGN.md, written down once for the build. check_layers.cmake reads this
# file; the ctest `layering` (label unit, part of `make test`) fails on an
# #include that goes against it.
#
# lrsched_layer(NAME PATHS path... [MAY_INCLUDE layer...])
#   PATHS: folders (ending in /), files or file stems, from the source root.
#   A source file, and a header an #include names, belongs to the layer
#   with the longest path that begins it. lrsched includes its headers from
#   the source root ("service/job/job.h"), the generated API as
#   "lrsched/v1/..." and the client's installed headers as "lrsched/...".
#   MAY_INCLUDE: layers declared above this one; so the arrows only point
#   up this file and cannot form a cycle. A layer may include itself, and
#   what belongs to no layer (the standard library, Abseil, Protobuf) is
#   not checked.

# Outside libraries that only some layers may see: gRPC (and the generated
# service stubs) only at the wire, SQLite only behind the store's seam.
lrsched_layer(grpc PATHS grpcpp/ grpc/ lrsched/v1/scheduler_service.grpc.pb.h)
lrsched_layer(sqlite PATHS sqlite3.h)
# etcd's v3 API (third_party/etcd), only behind the store's seam too.
lrsched_layer(etcd_api PATHS etcd/ MAY_INCLUDE grpc)

# The generated messages of the public API.
lrsched_layer(proto PATHS proto/ lrsched/v1/)
# absl::Status <-> grpc::Status, for both ends of the wire.
lrsched_layer(status_conversion PATHS proto/status_conversion. MAY_INCLUDE grpc)
# Small helpers of the service with no lrsched dependency.
lrsched_layer(common PATHS service/common/)

lrsched_layer(schedule PATHS service/schedule/ MAY_INCLUDE common proto)
lrsched_layer(store_api PATHS service/store/event_store.h service/store/append_rules
                             service/store/write_queue
              MAY_INCLUDE common proto)
lrsched_layer(store_sqlite PATHS service/store/ MAY_INCLUDE store_api common proto sqlite)
lrsched_layer(store_etcd PATHS service/store/etcd_
              MAY_INCLUDE store_api common proto etcd_api grpc)
lrsched_layer(job PATHS service/job/ MAY_INCLUDE schedule store_api common proto)
lrsched_layer(server PATHS service/server/
              MAY_INCLUDE job schedule store_api store_sqlite store_etcd common proto
                          status_conversion grpc)
# lrsched-server, lrsched-backup and lrsched-preview: flags and wiring.
lrsched_layer(service_binaries PATHS service/main.cc service/backup_main.cc
                                     service/preview_main.cc
              MAY_INCLUDE server job schedule store_api store_sqlite common proto)

# The installed client library, lrschedctl and the out-of-tree example.
# Of common, only what a binary prints (command_line, shortest_double),
# never in an installed header.
lrsched_layer(client PATHS client/ lrsched/ MAY_INCLUDE proto status_conversion grpc common)
# --scheduler=local steps the same Schedule as the server.
lrsched_layer(trainer PATHS trainer/ MAY_INCLUDE client schedule proto common)
