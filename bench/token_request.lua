-- wrk: the token request of an authorization code (bench/peer.sh)
wrk.method = "POST"
wrk.body = "grant_type=authorization_code&code=not-remembered&redirect_uri=https%3A%2F%2Fes.example.com%2Fcb"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
