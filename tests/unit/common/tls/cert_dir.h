#pragma once
// CertDir: self-signed ECDSA certificates in a temporary directory, for tests that run real TLS
// handshakes in memory (common/tls's contexts, gw7's TLS upstream link). Each certificate is its
// own trust anchor: a client trusts it by naming its file as ca_file.

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/tls/server_context.h"

namespace edge::tls {

class CertDir {
 public:
  CertDir() {
    char tmpl[] = "/tmp/edge_tls_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~CertDir() {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }
  ServerContextOptions::Certificate Make(const std::string& cn,
                                         const std::vector<std::string>& sans) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!sans.empty()) {
      std::string value;
      for (const std::string& s : sans) value += (value.empty() ? "DNS:" : ",DNS:") + s;
      X509_EXTENSION* ext =
          X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str());
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, key, EVP_sha256());
    std::string base = dir_ + "/" + cn;
    ServerContextOptions::Certificate out{base + ".crt", base + ".key"};
    FILE* f = fopen(out.cert_file.c_str(), "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(out.key_file.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    files_.push_back(out.cert_file);
    files_.push_back(out.key_file);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  long serial_ = 0;
};

}  // namespace edge::tls
