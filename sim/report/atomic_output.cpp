#include "sim/report/atomic_output.hpp"

namespace moesim::report {

std::filesystem::path write_directory_atomic(const std::filesystem::path& dir,
                                             const std::vector<std::pair<std::string, std::string>>& files) {
  AtomicDir out(dir);
  for (const auto& [name, text] : files) out.write(name, text);
  return out.commit();
}

}  // namespace moesim::report
