#include "l7/codec/internal_codec.h"

#include "common/log.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

void InternalCodec::EncodeUpgrade(const http::HttpResponse& head,
                                  const std::vector<std::pair<std::string, std::string>>*,
                                  std::string_view request_id, UpstreamLink* link,
                                  std::string_view) {
  // Never asked for (see the header); should it happen, the tunnel's link is closed, not leaked.
  LOG_ERROR("internal request %s: unexpected %d upgrade; dropped", request_id, head.status);
  if (link != nullptr) link->Close();
  Complete(head.status);
}

void InternalCodec::Reset() {
  stream_->OnReset();
  done_(context_, 0);
}

}  // namespace edge::l7
