#pragma once
// SoapFilter: a route with `soap` (soap_config.h) maps its REST call onto one SOAP operation, on
// the normal proxy path rather than a client of its own (README "REST to SOAP"):
//  - OnRequest installs the filter as ctx.upstream_rewriter (filter.h): the proxy reads the
//    client's body whole and Rewrite turns path captures, query parameters and JSON body fields
//    into the envelope (envelope_template.h, soap_envelope.h) POSTed to soap.path with the
//    version's Content-Type / SOAPAction; a value that is missing or does not fit its type is the
//    client's 400. The client's Content-Type, Content-Encoding, SOAPAction and Accept-Encoding do
//    not go upstream (gw7 reads the answer, so it must come unencoded).
//  - The upstream's response is taken over (Filter::TakeOverResponse), its body collected up to
//    max_response_bytes, and answered translated (soap_response.h): JSON, a fault's mapped
//    status, or 502 for anything unusable, hostile XML included. gw7's own answers (an upstream
//    that failed or timed out) go to the client as they are.
// Every translation is counted by outcome (gw7_soap_translations_total{route,outcome}) and every
// failure logged with the request id.

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "l7/filters/filter.h"
#include "l7/filters/soap/soap_config.h"

namespace edge::l7 {

class SoapFilter final : public Filter, public UpstreamRewriter {
 public:
  // `path_template`: the route's (captures for {path.NAME}), or empty.
  SoapFilter(std::shared_ptr<const SoapConfig> config, std::string path_template);

  std::string_view name() const override { return "soap"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;
  bool TakeOverResponse(FilterContext& ctx, const http::HttpResponse& head) override;
  void OnTakenOverData(FilterContext& ctx, std::string_view data) override;
  void ReplaceResponse(FilterContext& ctx) override;
  void OnEnd(FilterContext& ctx) override;

  // UpstreamRewriter
  absl::Status Rewrite(FilterContext& ctx, std::string_view client_body,
                       UpstreamRewrite* out) const override;

 private:
  // The upstream response being collected.
  struct Pending {
    int status = 0;
    std::string body;
    bool too_large = false;
  };

  std::shared_ptr<const SoapConfig> config_;
  std::string path_template_;
  std::vector<std::pair<std::string, std::string>> request_fields_;  // Content-Type, SOAPAction
  bool uses_body_ = false;  // the template has {body.*} placeholders
  std::unordered_map<const FilterContext*, Pending> pending_;
};

}  // namespace edge::l7
