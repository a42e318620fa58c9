// The C ABI of the verification of the upstream provider's logout tokens.
#include "c_api.hpp"

#include "received_logout.hpp"

using namespace oidc_logout;
using namespace oidc_logout::c_api;

extern "C" {

ol_status
ol_received_logout_verify(const ol_keys *keys, const char *issuer,
                          size_t issuer_len, const char *const *audiences,
                          size_t audience_count, const char *token,
                          size_t token_len, int64_t now, char *sub, char *sid,
                          char *jti, int *unknown_kid, char *err,
                          size_t errlen) noexcept
{
    sub[0] = sid[0] = jti[0] = '\0';
    if (unknown_kid != nullptr) {
        *unknown_kid = 0;
    }
    return guarded(err, errlen, [&]() -> ol_status {
        if (keys == nullptr) {
            set_error(err, errlen, "no keys of the provider to verify it");
            return OL_INVALID;
        }
        std::vector<std::string> ours(audiences, audiences + audience_count);
        ReceivedLogout out;
        std::string reason;
        bool unknown = false;
        if (!verify_received_logout(*keys->keys, view(issuer, issuer_len), ours,
                                    view(token, token_len), now, out, reason,
                                    &unknown)) {
            if (unknown_kid != nullptr) {
                *unknown_kid = unknown ? 1 : 0;
            }
            set_error(err, errlen, reason);
            return OL_INVALID;
        }
        /* each fits: verify_received_logout refuses longer ones */
        set_error(sub, OL_SUB_MAX + 1, out.sub);
        set_error(sid, OL_SUB_MAX + 1, out.sid);
        set_error(jti, OL_SUB_MAX + 1, out.jti);
        return OL_OK;
    });
}

} // extern "C"
