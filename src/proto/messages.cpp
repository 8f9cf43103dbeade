// SPDX-License-Identifier: Apache-2.0
// Names and type tags of the federated protocol's messages (messages.hpp).
#include "proto/messages.hpp"

namespace disco::proto {
namespace {

template <typename T>
constexpr MessageType type_of();
template <>
constexpr MessageType type_of<ClientHello>() {
  return MessageType::ClientHello;
}
template <>
constexpr MessageType type_of<ServerWelcome>() {
  return MessageType::ServerWelcome;
}
template <>
constexpr MessageType type_of<WaitingForParticipants>() {
  return MessageType::WaitingForParticipants;
}
template <>
constexpr MessageType type_of<StartRound>() {
  return MessageType::StartRound;
}
template <>
constexpr MessageType type_of<Contribution>() {
  return MessageType::Contribution;
}
template <>
constexpr MessageType type_of<RoundResult>() {
  return MessageType::RoundResult;
}
template <>
constexpr MessageType type_of<TrainingFinished>() {
  return MessageType::TrainingFinished;
}
template <>
constexpr MessageType type_of<ErrorMessage>() {
  return MessageType::ErrorMessage;
}
template <>
constexpr MessageType type_of<Ping>() {
  return MessageType::Ping;
}
template <>
constexpr MessageType type_of<Pong>() {
  return MessageType::Pong;
}

}  // namespace

MessageType message_type(const Message& message) {
  return std::visit([](const auto& m) { return type_of<std::decay_t<decltype(m)>>(); }, message);
}

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::ClientHello:
      return "ClientHello";
    case MessageType::ServerWelcome:
      return "ServerWelcome";
    case MessageType::WaitingForParticipants:
      return "WaitingForParticipants";
    case MessageType::StartRound:
      return "StartRound";
    case MessageType::Contribution:
      return "Contribution";
    case MessageType::RoundResult:
      return "RoundResult";
    case MessageType::TrainingFinished:
      return "TrainingFinished";
    case MessageType::ErrorMessage:
      return "ErrorMessage";
    case MessageType::Ping:
      return "Ping";
    case MessageType::Pong:
      return "Pong";
  }
  return "Unknown";
}

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ProtocolViolation:
      return "ProtocolViolation";
    case ErrorCode::VersionMismatch:
      return "VersionMismatch";
    case ErrorCode::UnknownTask:
      return "UnknownTask";
    case ErrorCode::Unauthorized:
      return "Unauthorized";
    case ErrorCode::ModelMismatch:
      return "ModelMismatch";
    case ErrorCode::StaleRound:
      return "StaleRound";
    case ErrorCode::Unavailable:
      return "Unavailable";
    case ErrorCode::Internal:
      return "Internal";
  }
  return "Unknown";
}

}  // namespace disco::proto
