// The HTML pages of the logout endpoint.
#pragma once

#include <string>
#include <string_view>

namespace oidc_logout {

/* Content-Security-Policy of every page: nothing loads, nothing frames it. */
extern const char page_csp[];

/* "You have been signed out." */
std::string logged_out_page();

/* A refused request; message is shown to the user (escaped here). */
std::string error_page(std::string_view message);

} // namespace oidc_logout
