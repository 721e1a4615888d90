#include "service/server/store_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(StoreAddressTest, SqliteTakesAnyPathIncludingMemory) {
  auto parsed = ParseStoreAddress("sqlite:/var/lib/lrsched/state.db");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->kind, StoreAddress::Kind::kSqlite);
  EXPECT_EQ(parsed->sqlite_path, "/var/lib/lrsched/state.db");
  EXPECT_EQ(ParseStoreAddress("sqlite::memory:")->sqlite_path, ":memory:");
}

TEST(StoreAddressTest, EtcdTakesEndpointsAndAPrefix) {
  auto parsed = ParseStoreAddress("etcd://etcd-0.etcd:2379,10.0.0.2:2379,[::1]:2379/team/a/");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->kind, StoreAddress::Kind::kEtcd);
  EXPECT_THAT(parsed->etcd.endpoints, ElementsAre("etcd-0.etcd:2379", "10.0.0.2:2379", "[::1]:2379"));
  EXPECT_EQ(parsed->etcd.prefix, "/team/a/");
}

TEST(StoreAddressTest, EtcdWithoutAPrefixKeepsItsKeysUnderLrsched) {
  EXPECT_EQ(ParseStoreAddress("etcd://127.0.0.1:2379")->etcd.prefix, "/lrsched/");
  EXPECT_EQ(ParseStoreAddress("etcd://127.0.0.1:2379/")->etcd.prefix, "/lrsched/");
  EXPECT_EQ(ParseStoreAddress("etcd://127.0.0.1:2379/jobs")->etcd.prefix, "/jobs/");
}

TEST(StoreAddressTest, WhatDoesNotParseNamesTheRule) {
  EXPECT_THAT(ParseStoreAddress("postgres://db/lrsched"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--store=postgres://db/lrsched"),
                             HasSubstr("unknown kind of store"), HasSubstr("sqlite:PATH"))));
  EXPECT_THAT(ParseStoreAddress("sqlite:"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("file is missing")));
  EXPECT_THAT(ParseStoreAddress("etcd://"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'' is not HOST:PORT")));
  EXPECT_THAT(ParseStoreAddress("etcd://host"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'host' is not HOST:PORT")));
  EXPECT_THAT(ParseStoreAddress("etcd://a:1,:2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("':2' is not HOST:PORT")));
  EXPECT_THAT(ParseStoreAddress("etcd://a:70000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'a:70000'")));
  EXPECT_THAT(ParseStoreAddress("etcd://a:1/x//y"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty part")));
}

}  // namespace
}  // namespace lrsched
