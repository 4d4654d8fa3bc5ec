#include <gtest/gtest.h>

#include "sim/core/units.hpp"

using namespace moesim;

static double parse(std::string_view s, Dimension d) {
  auto r = parse_quantity(s, d);
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error());
  return r ? *r : -1.0;
}
static std::string error_of(std::string_view s, Dimension d) {
  auto r = parse_quantity(s, d);
  EXPECT_FALSE(r.has_value()) << s << " parsed as " << (r ? *r : 0.0);
  return r ? "" : r.error();
}

TEST(Units, BytesBinaryAndDecimalPrefixes) {
  EXPECT_DOUBLE_EQ(parse("80GiB", Dimension::bytes), 80.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(parse("1.5GB", Dimension::bytes), 1.5e9);
  EXPECT_DOUBLE_EQ(parse("64KiB", Dimension::bytes), 65536.0);
  EXPECT_DOUBLE_EQ(parse("512B", Dimension::bytes), 512.0);
  EXPECT_DOUBLE_EQ(parse(" 2 MiB ", Dimension::bytes), 2.0 * 1048576.0);
}

TEST(Units, BandwidthInBytesAndBits) {
  EXPECT_DOUBLE_EQ(parse("3.35TBps", Dimension::bytes_per_second), 3.35e12);
  EXPECT_DOUBLE_EQ(parse("900GB/s", Dimension::bytes_per_second), 900e9);
  EXPECT_DOUBLE_EQ(parse("400Gbps", Dimension::bytes_per_second), 50e9);
  EXPECT_DOUBLE_EQ(parse("25Gb/s", Dimension::bytes_per_second), 25e9 / 8);
}

TEST(Units, TimesAndComputeRates) {
  EXPECT_DOUBLE_EQ(parse("1.5us", Dimension::seconds), 1.5e-6);
  EXPECT_DOUBLE_EQ(parse("2ms", Dimension::seconds), 2e-3);
  EXPECT_DOUBLE_EQ(parse("10ns", Dimension::seconds), 1e-8);
  EXPECT_DOUBLE_EQ(parse("989TFlops", Dimension::flops_per_second), 989e12);
  EXPECT_DOUBLE_EQ(parse("19.5TFLOPS", Dimension::flops_per_second), 19.5e12);
  EXPECT_DOUBLE_EQ(parse("3GFlop", Dimension::flops), 3e9);
}

TEST(Units, BareNumberIsAnError) {
  auto e = error_of("80", Dimension::bytes);
  EXPECT_NE(e.find("no unit"), std::string::npos) << e;
  EXPECT_NE(e.find("GiB"), std::string::npos) << e;
}

TEST(Units, UnknownUnitIsAnError) {
  auto e = error_of("5parsecs", Dimension::seconds);
  EXPECT_NE(e.find("unknown unit 'parsecs'"), std::string::npos) << e;
}

TEST(Units, BitsForASizeIsAnErrorThatSaysBytes) {
  auto e = error_of("80Gb", Dimension::bytes);
  EXPECT_NE(e.find("bits"), std::string::npos) << e;
  EXPECT_NE(e.find("80GB"), std::string::npos) << e;
}

TEST(Units, WrongDimensionSaysWhatWasExpected) {
  auto e = error_of("80GiB", Dimension::bytes_per_second);
  EXPECT_NE(e.find("a size in bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("a bandwidth"), std::string::npos) << e;
}

TEST(Units, NegativeAndGarbage) {
  error_of("-1GiB", Dimension::bytes);
  error_of("GiB", Dimension::bytes);
  error_of("", Dimension::bytes);
}

TEST(Units, DimensionalAlgebra) {
  using namespace literals;
  Seconds t = Bytes(1e9) / BytesPerSecond(1e9);
  EXPECT_DOUBLE_EQ(t.value, 1.0);
  EXPECT_DOUBLE_EQ((Flops(2e12) / FlopsPerSecond(1e12)).value, 2.0);
  EXPECT_DOUBLE_EQ((64_KiB).value, 65536.0);
}

TEST(Units, Formatting) {
  EXPECT_EQ(format_bytes(Bytes(80.0 * 1073741824.0)), "80 GiB");
  EXPECT_EQ(format_seconds(Seconds(1.5e-6)), "1.5 us");
  EXPECT_EQ(format_rate(BytesPerSecond(3.35e12)), "3.35 TB/s");
}
