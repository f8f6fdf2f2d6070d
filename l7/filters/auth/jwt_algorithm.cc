#include "l7/filters/auth/jwt_algorithm.h"

namespace edge::l7 {
namespace {

struct AlgorithmInfo {
  std::string_view name;
  JwtAlgorithm alg;
  JwtKeyFamily family;
};
constexpr AlgorithmInfo kAlgorithms[] = {
    {"HS256", JwtAlgorithm::kHS256, JwtKeyFamily::kHmac},
    {"HS384", JwtAlgorithm::kHS384, JwtKeyFamily::kHmac},
    {"HS512", JwtAlgorithm::kHS512, JwtKeyFamily::kHmac},
    {"RS256", JwtAlgorithm::kRS256, JwtKeyFamily::kRsa},
    {"RS384", JwtAlgorithm::kRS384, JwtKeyFamily::kRsa},
    {"RS512", JwtAlgorithm::kRS512, JwtKeyFamily::kRsa},
    {"PS256", JwtAlgorithm::kPS256, JwtKeyFamily::kRsa},
    {"ES256", JwtAlgorithm::kES256, JwtKeyFamily::kEcP256},
    {"ES384", JwtAlgorithm::kES384, JwtKeyFamily::kEcP384},
};

}  // namespace

std::optional<JwtAlgorithm> JwtAlgorithmFromName(std::string_view name) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.name == name) return info.alg;
  }
  return std::nullopt;
}

std::string_view JwtAlgorithmName(JwtAlgorithm alg) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.alg == alg) return info.name;
  }
  return "?";
}

JwtKeyFamily FamilyOf(JwtAlgorithm alg) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.alg == alg) return info.family;
  }
  return JwtKeyFamily::kHmac;
}

std::string_view FamilyName(JwtKeyFamily family) {
  switch (family) {
    case JwtKeyFamily::kHmac:
      return "HMAC secret";
    case JwtKeyFamily::kRsa:
      return "RSA";
    case JwtKeyFamily::kEcP256:
      return "EC P-256";
    case JwtKeyFamily::kEcP384:
      return "EC P-384";
  }
  return "?";
}

}  // namespace edge::l7
