#pragma once
// moesim::Expected<T, E>: std::expected where the standard library offers it (GCC 12+), else a
// minimal stand-in with the part of its interface moesim uses (bool test, *, value(), error()).
// The stand-in exists for the fuzz build: libFuzzer needs clang, and clang 14 cannot compile
// libstdc++ 12's <expected> (it lacks conditionally trivial special members, P0848).
#include <string>
#include <utility>
#if __has_include(<expected>)
#include <expected>
#endif
#include <variant>

namespace moesim {

#if defined(__cpp_lib_expected)
template <class T, class E>
using Expected = std::expected<T, E>;
template <class E>
std::unexpected<E> unexpected_error(E e) {
  return std::unexpected<E>(std::move(e));
}
#else
template <class E>
struct Unexpected {
  E value;
};
template <class E>
Unexpected<E> unexpected_error(E e) {
  return {std::move(e)};
}
template <class T, class E>
class Expected {
 public:
  Expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}
  template <class G>
  Expected(Unexpected<G> u) : v_(std::in_place_index<1>, E(std::move(u.value))) {}
  explicit operator bool() const { return v_.index() == 0; }
  bool has_value() const { return v_.index() == 0; }
  const T& operator*() const { return std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};
#endif

}  // namespace moesim
