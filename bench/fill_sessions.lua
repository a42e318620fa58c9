-- wrk script: each connection logs in a new 32-byte subject, then joins
-- two clients with the session cookie, over and over.
local thread_id = 0
local n, step, cookie = 0, 0, nil

function setup(thread)
    thread_id = thread_id + 1
    thread:set("tid", thread_id)
end

function init(args)
    offset = tonumber(args[1] or "0")
end

function request()
    if step == 0 then
        n = n + 1
        local user = string.format("%08d%08d%016d", offset, tid, n)
        return wrk.format("GET", "/login?user=" .. user)
    end
    local client = step == 1 and "app1" or "app2"
    return wrk.format("GET", "/authorize?client_id=" .. client, {
        ["Cookie"] = "oidc_session=" .. (cookie or "")
    })
end

function response(status, headers, body)
    if step == 0 then
        local sc = headers["Set-Cookie"] or ""
        cookie = sc:match("oidc_session=([^;]*)")
    end
    step = (step + 1) % 3
end
