#include "ledger/knowledge_point.h"

#include <gtest/gtest.h>
#include "absl/strings/str_cat.h"

namespace provledger {
namespace {

absl::Time Utc(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

TEST(KnowledgePointTest, ABareDateIsTheEndOfThatDayInTheZone) {
  EXPECT_EQ(*ParseKnownAt("2024-04-02", absl::UTCTimeZone()),
            Utc("2024-04-02T23:59:59.999999999Z"));
  auto chicago = LoadTimeZone("America/Chicago");
  ASSERT_TRUE(chicago.ok()) << chicago.status();
  // CDT is UTC-5 in April: the end of the day there is 04:59:59 UTC next day.
  EXPECT_EQ(*ParseKnownAt("2024-04-02", *chicago),
            Utc("2024-04-03T04:59:59.999999999Z"));
  // CST is UTC-6 in January.
  EXPECT_EQ(*ParseKnownAt("2024-01-15", *chicago),
            Utc("2024-01-16T05:59:59.999999999Z"));
}

TEST(KnowledgePointTest, LocalTimesAreInTheZoneAndOffsetsWin) {
  auto ny = LoadTimeZone("America/New_York");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(*ParseKnownAt("2024-04-02T17:00", *ny), Utc("2024-04-02T21:00:00Z"));
  EXPECT_EQ(*ParseKnownAt("2024-04-02T17:00:30", *ny),
            Utc("2024-04-02T21:00:30Z"));
  // A timestamp with its own offset means that moment, whatever the zone.
  EXPECT_EQ(*ParseKnownAt("2024-04-02T17:00:00Z", *ny),
            Utc("2024-04-02T17:00:00Z"));
  EXPECT_EQ(*ParseKnownAt("2024-04-02T12:00:00-05:00", absl::UTCTimeZone()),
            Utc("2024-04-02T17:00:00Z"));
}

TEST(KnowledgePointTest, BadInputIsASentence) {
  auto bad = ParseKnownAt("yesterday", absl::UTCTimeZone());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "'yesterday' is not an RFC 3339 timestamp (2024-04-02T17:00:00Z), "
            "a local time (2024-04-02T17:00) or a date (2024-04-02, the end "
            "of that day)");
  EXPECT_FALSE(ParseKnownAt("2024-02-30", absl::UTCTimeZone()).ok());
  auto zone = LoadTimeZone("Mars/Olympus_Mons");
  EXPECT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(zone.status().message(),
            "'Mars/Olympus_Mons' is not a time zone this system knows (an IANA "
            "name such as America/Chicago, from the tzdata package)");
  EXPECT_TRUE(LoadTimeZone("").ok());
  // Only zone names reach the loader, which opens them as files (a request
  // naming a FIFO would hang the thread that answers it).
  for (const char* name :
       {"/etc/localtime", "../../../usr/share/zoneinfo/America/Chicago",
        "America/../America/Chicago", "/dev/stdin", "America//Chicago",
        "America/Chicago/", "Fixed/UTC+05:00", "America/Chicago\n"}) {
    auto refused = LoadTimeZone(name);
    EXPECT_EQ(refused.status().message(),
              absl::StrCat("'", name,
                           "' is not a time zone this system knows (an IANA "
                           "name such as America/Chicago, from the tzdata "
                           "package)"));
  }
  for (const char* name : {"America/Argentina/Buenos_Aires", "Etc/GMT+5",
                           "EST5EDT", "America/Port-au-Prince"}) {
    EXPECT_TRUE(LoadTimeZone(name).ok()) << name;
  }
}

TEST(KnowledgePointTest, TimesAreShownWithTheirZone) {
  const absl::Time t = Utc("2026-11-22T20:02:21.290508Z");
  EXPECT_EQ(FormatKnownTime(t, absl::UTCTimeZone()),
            "2026-11-22T20:02:21.290508Z");
  EXPECT_EQ(FormatKnownTime(t, *LoadTimeZone("America/Chicago")),
            "2026-11-22T14:02:21.290508-06:00 (America/Chicago)");
}

}  // namespace
}  // namespace provledger
