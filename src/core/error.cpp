#include "innmf/core/error.hpp"

namespace innmf {

ExitCode exit_code_of(const std::exception& e) noexcept {
  if (const auto* error = dynamic_cast<const Error*>(&e)) return error->code();
  return ExitCode::failure;
}

}  // namespace innmf
