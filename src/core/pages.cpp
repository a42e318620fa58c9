#include "pages.hpp"

#include "text.hpp"

namespace oidc_logout {

const char page_csp[] = "default-src 'none'; base-uri 'none'; "
                        "form-action 'self'; frame-ancestors 'none'";

namespace {

std::string
page(std::string_view title, std::string_view message)
{
    std::string t = html_escape(title);
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
           "<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, "
           "initial-scale=1\">\n"
           "<title>" +
           t + "</title>\n</head>\n<body>\n<main>\n<h1>" + t + "</h1>\n<p>" +
           html_escape(message) + "</p>\n</main>\n</body>\n</html>\n";
}

} // namespace

std::string
logged_out_page()
{
    return page("Signed out", "You have been signed out.");
}

std::string
error_page(std::string_view message)
{
    return page("Sign-out request refused", message);
}

} // namespace oidc_logout
