// libFuzzer target: one trace reader (compiled once per format, MOESIM_FUZZ_TRACE_FORMAT), fed
// through a file as the app does, then validated (read_trace). Seeds: the shipped traces of the
// format (scripts/fuzz.sh).
#include <unistd.h>

#include <fstream>
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "models/routing/trace.hpp"

#ifndef MOESIM_FUZZ_TRACE_FORMAT
#error "MOESIM_FUZZ_TRACE_FORMAT must name a trace format"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moesim::routing;
  static const TraceFormat format = parse_trace_format(MOESIM_FUZZ_TRACE_FORMAT);
  static const std::string path = "/tmp/moesim-fuzz-" + std::to_string(::getpid()) + "." MOESIM_FUZZ_TRACE_FORMAT;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  moesim::fuzz::expect_clean_rejection([&] {
    Trace t = read_trace(path, format);
    (void)t.selections();
    (void)to_load_only(t);
  });
  return 0;
}
