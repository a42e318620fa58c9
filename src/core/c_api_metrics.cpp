// The C ABI of the metrics page.
#include "c_api.hpp"

#include "metrics.hpp"

using namespace oidc_logout;
using namespace oidc_logout::c_api;

extern "C" {

ol_status
ol_metrics_render(const ol_metrics *m, const char *zone, char *out,
                  size_t outlen, size_t *len) noexcept
{
    *len = 0;
    return guarded(nullptr, 0, [&]() -> ol_status {
        std::string text = metrics_text(*m, zone ? zone : "");
        *len = text.size();
        if (text.size() >= outlen) {
            return OL_INVALID;
        }
        std::memcpy(out, text.data(), text.size());
        out[text.size()] = '\0';
        return OL_OK;
    });
}

} // extern "C"
