// SPDX-License-Identifier: Apache-2.0
// Overloaded{lambda...}: one visitor out of several lambdas, for std::visit over the protocol
// machines' Action variants.
#pragma once

namespace disco {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace disco
