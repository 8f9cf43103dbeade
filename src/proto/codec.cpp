// SPDX-License-Identifier: Apache-2.0
// Message <-> bytes (codec.hpp). Encoding writes fields in a fixed order; decoding accepts any
// order, skips unknown keys, and refuses repeated or missing ones. Every check that depends on
// the peer's bytes returns an error; DISCO_CHECK guards only what our own caller hands in.
#include "proto/codec.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "proto/msgpack.hpp"

namespace disco::proto {
namespace {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian hosts are not supported");
static_assert(sizeof(float) == 4, "weights travel as IEEE float32");

// bin32 holds at most 2^32 - 1 bytes.
constexpr uint64_t kMaxEncodableParams = 0xffffffffull / 4;

// ---------------------------------------------------------------------------------------------
// Floats <-> little-endian bytes: one memcpy on little-endian hosts.

void store_le_floats(std::span<const float> values, MsgpackWriter& w) {
  if constexpr (std::endian::native == std::endian::little) {
    w.write_raw(std::as_bytes(values));
  } else {
    std::vector<std::byte> swapped(values.size() * 4);
    for (std::size_t i = 0; i < values.size(); ++i) {
      uint32_t bits = 0;
      std::memcpy(&bits, &values[i], 4);
      for (int b = 0; b < 4; ++b) swapped[4 * i + b] = static_cast<std::byte>(bits >> (8 * b));
    }
    w.write_raw(swapped);
  }
}

void load_le_floats(std::span<const std::byte> bytes, std::span<float> values) {
  DISCO_CHECK(bytes.size() == values.size() * 4, "load_le_floats: size mismatch");
  if (values.empty()) return;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(values.data(), bytes.data(), bytes.size());
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      uint32_t bits = 0;
      for (int b = 3; b >= 0; --b) bits = (bits << 8) | static_cast<uint8_t>(bytes[4 * i + b]);
      std::memcpy(&values[i], &bits, 4);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

class Encoder {
 public:
  std::vector<std::byte> take() { return w_.take(); }

  void envelope(MessageType type) {
    w_.write_array_header(3);
    w_.write_uint(kProtocolVersion);
    w_.write_uint(static_cast<uint32_t>(type));
  }

  void operator()(const ClientHello& m) {
    w_.write_map_header(m.join_token ? 4 : 3);
    put_str("task_id", m.task_id);
    put_str("client_id", m.client_id);
    fingerprint("model_fingerprint", m.model_fingerprint);
    if (m.join_token) put_str("join_token", *m.join_token);
  }
  void operator()(const ServerWelcome& m) {
    w_.write_map_header(6);
    put_str("client_id", m.client_id);
    put_uint("round", m.round);
    fingerprint("model_fingerprint", m.model_fingerprint);
    put_uint("n_params", m.n_params);
    put_uint("min_participants", m.min_participants);
    put_uint("n_rounds", m.n_rounds);
  }
  void operator()(const WaitingForParticipants& m) {
    w_.write_map_header(2);
    put_uint("n_connected", m.n_connected);
    put_uint("n_required", m.n_required);
  }
  void operator()(const StartRound& m) {
    w_.reserve(payload_bytes(m.weights));
    w_.write_map_header(3);
    put_uint("round", m.round);
    weights("weights", m.weights);
    put_uint("deadline_ms", m.deadline_ms);
  }
  void operator()(const Contribution& m) {
    w_.reserve(payload_bytes(m.update));
    w_.write_map_header(3 + n_metrics(m.metrics));
    put_uint("round", m.round);
    put_uint("n_samples", m.n_samples);
    weights("update", m.update);
    metrics(m.metrics);
  }
  void operator()(const RoundResult& m) {
    w_.write_map_header(2 + n_metrics(m.metrics));
    put_uint("round", m.round);
    put_uint("n_participants", m.n_participants);
    metrics(m.metrics);
  }
  void operator()(const TrainingFinished& m) {
    w_.reserve(payload_bytes(m.weights));
    w_.write_map_header(2);
    put_uint("round", m.round);
    weights("weights", m.weights);
  }
  void operator()(const ErrorMessage& m) {
    w_.write_map_header(2);
    put_uint("code", static_cast<uint32_t>(m.code));
    put_str("message", m.message);
  }
  void operator()(const Ping& m) {
    w_.write_map_header(1);
    put_uint("nonce", m.nonce);
  }
  void operator()(const Pong& m) {
    w_.write_map_header(1);
    put_uint("nonce", m.nonce);
  }

 private:
  static std::size_t payload_bytes(const Weights& w) { return 128 + 4 * w.values.size(); }
  static uint32_t n_metrics(const TrainMetrics& m) {
    return (m.loss ? 1u : 0u) + (m.accuracy ? 1u : 0u);
  }

  void put_uint(std::string_view key, uint64_t value) {
    w_.write_str(key);
    w_.write_uint(value);
  }
  void put_str(std::string_view key, std::string_view value) {
    w_.write_str(key);
    w_.write_str(value);
  }
  void fingerprint(std::string_view key, std::string_view value) {
    DISCO_CHECK(is_valid_fingerprint(value), "encode: fingerprint is not 16 lowercase hex digits");
    put_str(key, value);
  }
  void metrics(const TrainMetrics& m) {
    if (m.loss) {
      w_.write_str("loss");
      w_.write_float64(*m.loss);
    }
    if (m.accuracy) {
      w_.write_str("accuracy");
      w_.write_float64(*m.accuracy);
    }
  }
  void weights(std::string_view key, const Weights& weights) {
    DISCO_CHECK(weights.values.size() <= kMaxEncodableParams, "encode: too many weights");
    w_.write_str(key);
    w_.write_map_header(3);
    fingerprint("fingerprint", weights.fingerprint);
    put_uint("n_params", weights.values.size());
    w_.write_str("data");
    w_.write_bin_header(static_cast<uint32_t>(weights.values.size() * 4));
    store_le_floats(weights.values, w_);
  }

  MsgpackWriter w_;
};

// ---------------------------------------------------------------------------------------------
// Decoding

// One expected key of a body map.
struct Field {
  std::string_view key;
  bool required;
};

class Decoder {
 public:
  Decoder(std::span<const std::byte> bytes, const DecodeLimits& limits)
      : r_(bytes), limits_(limits) {}

  Result<Message> message() {
    DISCO_ASSIGN_OR_RETURN(n_elements, r_.read_array_header());
    if (n_elements == 0) return violation("empty envelope", 0);
    const std::size_t version_at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(version, r_.read_uint());
    if (version != kProtocolVersion) {
      return violation("unsupported protocol version " + std::to_string(version) +
                           " (this peer speaks " + std::to_string(kProtocolVersion) + ")",
                       version_at);
    }
    if (n_elements != 3) {
      return violation("envelope has " + std::to_string(n_elements) + " elements, expected 3", 0);
    }
    const std::size_t type_at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(type, r_.read_uint());
    DISCO_ASSIGN_OR_RETURN(message, body(type, type_at));
    if (!r_.at_end()) {
      return r_.corruption(std::to_string(r_.remaining()) + " trailing bytes", r_.offset());
    }
    return message;
  }

 private:
  template <typename T>
  static Result<Message> wrap(Result<T> result) {
    if (!result) return result.error();
    return Message(std::move(result).value());
  }

  Result<Message> body(uint64_t type, std::size_t type_at) {
    if (type < 1 || type > static_cast<uint64_t>(MessageType::Pong)) {
      return violation("unknown message type " + std::to_string(type), type_at);
    }
    where_ = message_type_name(static_cast<MessageType>(type));
    switch (static_cast<MessageType>(type)) {
      case MessageType::ClientHello:
        return wrap(client_hello());
      case MessageType::ServerWelcome:
        return wrap(server_welcome());
      case MessageType::WaitingForParticipants:
        return wrap(waiting());
      case MessageType::StartRound:
        return wrap(start_round());
      case MessageType::Contribution:
        return wrap(contribution());
      case MessageType::RoundResult:
        return wrap(round_result());
      case MessageType::TrainingFinished:
        return wrap(training_finished());
      case MessageType::ErrorMessage:
        return wrap(error_message());
      case MessageType::Ping:
        return wrap(ping<Ping>());
      case MessageType::Pong:
        return wrap(ping<Pong>());
    }
    return violation("unknown message type " + std::to_string(type), type_at);
  }

  // ProtocolViolation("<message>: <what> at byte <offset>").
  disco::Error violation(const std::string& what, std::size_t at) const {
    std::string text = where_.empty() ? what : std::string(where_) + ": " + what;
    return make_error(Errc::ProtocolViolation, text + " at byte " + std::to_string(at));
  }

  // Reads a map of `fields`, calling on_field(index) with the reader on that field's value.
  // Unknown keys are skipped; a repeated or a missing required key is a violation.
  template <std::size_t N, typename OnField>
  Result<void> read_map(const std::array<Field, N>& fields, OnField&& on_field) {
    static_assert(N <= 32, "field set is a 32-bit mask");
    const std::size_t map_at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(n_pairs, r_.read_map_header());
    uint32_t seen = 0;
    for (uint32_t i = 0; i < n_pairs; ++i) {
      const std::size_t key_at = r_.offset();
      DISCO_ASSIGN_OR_RETURN(key, r_.read_str());
      std::size_t index = N;
      for (std::size_t f = 0; f < N; ++f) {
        if (fields[f].key == key) index = f;
      }
      if (index == N) {
        DISCO_TRY(r_.skip());
        continue;
      }
      const uint32_t bit = 1u << index;
      if (seen & bit) return violation("repeated field '" + std::string(key) + "'", key_at);
      seen |= bit;
      DISCO_TRY(on_field(index));
    }
    for (std::size_t f = 0; f < N; ++f) {
      if (fields[f].required && !(seen & (1u << f))) {
        return violation("missing field '" + std::string(fields[f].key) + "'", map_at);
      }
    }
    return {};
  }

  Result<uint64_t> u64() { return r_.read_uint(); }

  Result<uint32_t> u32() {
    const std::size_t at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(v, r_.read_uint());
    if (v > 0xffffffffull)
      return violation("integer " + std::to_string(v) + " exceeds 32 bits", at);
    return static_cast<uint32_t>(v);
  }

  Result<std::string> str() {
    const std::size_t at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(s, r_.read_str());
    if (s.size() > limits_.max_string_bytes) {
      return violation("string of " + std::to_string(s.size()) + " bytes exceeds the limit of " +
                           std::to_string(limits_.max_string_bytes),
                       at);
    }
    return std::string(s);
  }

  Result<std::string> fingerprint() {
    const std::size_t at = r_.offset();
    DISCO_ASSIGN_OR_RETURN(s, r_.read_str());
    if (!is_valid_fingerprint(s)) {
      return violation("fingerprint is not 16 lowercase hex digits", at);
    }
    return std::string(s);
  }

  // An optional field's value: nil means absent.
  Result<bool> is_nil() {
    DISCO_ASSIGN_OR_RETURN(type, r_.peek_type());
    if (type != MsgpackType::Nil) return false;
    DISCO_TRY(r_.read_nil());
    return true;
  }

  Result<void> metric(std::optional<double>& out) {
    DISCO_ASSIGN_OR_RETURN(nil, is_nil());
    if (nil) return {};
    DISCO_ASSIGN_OR_RETURN(v, r_.read_float());
    out = v;
    return {};
  }

  Result<Weights> weights() {
    static constexpr std::array<Field, 3> kFields{
        {{"fingerprint", true}, {"n_params", true}, {"data", true}}};
    const std::size_t at = r_.offset();
    std::string fp;
    uint64_t n_params = 0;
    std::span<const std::byte> data;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0: {
          DISCO_ASSIGN_OR_RETURN(v, fingerprint());
          fp = std::move(v);
          return {};
        }
        case 1: {
          DISCO_ASSIGN_OR_RETURN(v, u64());
          n_params = v;
          return {};
        }
        default: {
          DISCO_ASSIGN_OR_RETURN(v, r_.read_bin());
          data = v;
          return {};
        }
      }
    }));
    if (n_params > limits_.max_params) {
      return violation("weights: n_params " + std::to_string(n_params) + " exceeds the limit of " +
                           std::to_string(limits_.max_params),
                       at);
    }
    // Division, not 4 * n_params: a caller-raised max_params must not make this overflow.
    if (data.size() % 4 != 0 || data.size() / 4 != n_params) {
      return violation("weights: data holds " + std::to_string(data.size()) +
                           " bytes, expected 4 * n_params = 4 * " + std::to_string(n_params),
                       at);
    }
    // n_params floats fit in the input already checked, so this allocation is bounded by it.
    Weights w;
    w.fingerprint = std::move(fp);
    w.values.resize(n_params);
    load_le_floats(data, w.values);
    if (limits_.require_finite_weights) {
      for (std::size_t i = 0; i < w.values.size(); ++i) {
        if (!std::isfinite(w.values[i])) {
          return violation("weights: non-finite value at index " + std::to_string(i), at);
        }
      }
    }
    return w;
  }

  Result<ClientHello> client_hello() {
    static constexpr std::array<Field, 4> kFields{{{"task_id", true},
                                                   {"client_id", true},
                                                   {"model_fingerprint", true},
                                                   {"join_token", false}}};
    ClientHello m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0:
          return assign(m.task_id, str());
        case 1:
          return assign(m.client_id, str());
        case 2:
          return assign(m.model_fingerprint, fingerprint());
        default: {
          DISCO_ASSIGN_OR_RETURN(nil, is_nil());
          if (nil) return {};
          DISCO_ASSIGN_OR_RETURN(token, str());
          m.join_token = std::move(token);
          return {};
        }
      }
    }));
    return m;
  }

  Result<ServerWelcome> server_welcome() {
    static constexpr std::array<Field, 6> kFields{{{"client_id", true},
                                                   {"round", true},
                                                   {"model_fingerprint", true},
                                                   {"n_params", true},
                                                   {"min_participants", true},
                                                   {"n_rounds", true}}};
    ServerWelcome m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0:
          return assign(m.client_id, str());
        case 1:
          return assign(m.round, u64());
        case 2:
          return assign(m.model_fingerprint, fingerprint());
        case 3:
          return assign(m.n_params, u64());
        case 4:
          return assign(m.min_participants, u32());
        default:
          return assign(m.n_rounds, u64());
      }
    }));
    return m;
  }

  Result<WaitingForParticipants> waiting() {
    static constexpr std::array<Field, 2> kFields{{{"n_connected", true}, {"n_required", true}}};
    WaitingForParticipants m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      return field == 0 ? assign(m.n_connected, u32()) : assign(m.n_required, u32());
    }));
    return m;
  }

  Result<StartRound> start_round() {
    static constexpr std::array<Field, 3> kFields{
        {{"round", true}, {"weights", true}, {"deadline_ms", true}}};
    StartRound m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0:
          return assign(m.round, u64());
        case 1:
          return assign(m.weights, weights());
        default:
          return assign(m.deadline_ms, u64());
      }
    }));
    return m;
  }

  Result<Contribution> contribution() {
    static constexpr std::array<Field, 5> kFields{{{"round", true},
                                                   {"n_samples", true},
                                                   {"update", true},
                                                   {"loss", false},
                                                   {"accuracy", false}}};
    Contribution m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0:
          return assign(m.round, u64());
        case 1:
          return assign(m.n_samples, u64());
        case 2:
          return assign(m.update, weights());
        case 3:
          return metric(m.metrics.loss);
        default:
          return metric(m.metrics.accuracy);
      }
    }));
    return m;
  }

  Result<RoundResult> round_result() {
    static constexpr std::array<Field, 4> kFields{
        {{"round", true}, {"n_participants", true}, {"loss", false}, {"accuracy", false}}};
    RoundResult m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      switch (field) {
        case 0:
          return assign(m.round, u64());
        case 1:
          return assign(m.n_participants, u32());
        case 2:
          return metric(m.metrics.loss);
        default:
          return metric(m.metrics.accuracy);
      }
    }));
    return m;
  }

  Result<TrainingFinished> training_finished() {
    static constexpr std::array<Field, 2> kFields{{{"round", true}, {"weights", true}}};
    TrainingFinished m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      return field == 0 ? assign(m.round, u64()) : assign(m.weights, weights());
    }));
    return m;
  }

  Result<ErrorMessage> error_message() {
    static constexpr std::array<Field, 2> kFields{{{"code", true}, {"message", true}}};
    ErrorMessage m;
    DISCO_TRY(read_map(kFields, [&](std::size_t field) -> Result<void> {
      if (field == 1) return assign(m.message, str());
      // Any 32-bit code is kept: receivers treat codes they do not know like Internal.
      DISCO_ASSIGN_OR_RETURN(code, u32());
      m.code = static_cast<ErrorCode>(code);
      return {};
    }));
    return m;
  }

  template <typename T>
  Result<T> ping() {
    static constexpr std::array<Field, 1> kFields{{{"nonce", true}}};
    T m;
    DISCO_TRY(read_map(kFields, [&](std::size_t) { return assign(m.nonce, u64()); }));
    return m;
  }

  template <typename T, typename U>
  static Result<void> assign(T& out, Result<U> value) {
    if (!value) return value.error();
    out = std::move(value).value();
    return {};
  }

  MsgpackReader r_;
  const DecodeLimits& limits_;
  std::string_view where_;  // the message type being decoded, for error texts
};

}  // namespace

bool is_valid_fingerprint(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::byte> encode(const Message& message) {
  Encoder encoder;
  encoder.envelope(message_type(message));
  std::visit(encoder, message);
  return encoder.take();
}

std::optional<uint64_t> envelope_version(std::span<const std::byte> bytes) {
  MsgpackReader r(bytes);
  Result<uint32_t> n = r.read_array_header();
  if (!n || *n == 0) return std::nullopt;
  Result<uint64_t> version = r.read_uint();
  if (!version) return std::nullopt;
  return *version;
}

Result<Message> decode(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return make_error(Errc::ProtocolViolation, "message of " + std::to_string(bytes.size()) +
                                                   " bytes exceeds the limit of " +
                                                   std::to_string(limits.max_message_bytes));
  }
  return Decoder(bytes, limits).message();
}

}  // namespace disco::proto
