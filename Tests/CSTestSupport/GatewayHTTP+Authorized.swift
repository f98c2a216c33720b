import Foundation

/// Authenticated endpoints of docs/api.md (history, offline messages, canned responses): every
/// call takes the caller's token and sends it as `Authorization: Bearer <token>` (nil: no header).
extension GatewayHTTP {
    static func bearer(_ token: String?) -> [String: String] {
        token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
    }

    /// `Authorization: Bearer <token>` for a hand-made request (nil: none).
    public static func bearerHeader(_ token: String?) -> [String: String] { bearer(token) }

    public func get(_ path: String, token: String?, timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await get(path, headers: Self.bearer(token), timeout: timeout)
    }

    public func post(_ path: String, json: JSONValue, token: String?, timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await post(path, json: json, headers: Self.bearer(token), timeout: timeout)
    }

    /// `PUT path` with a JSON (or raw) body.
    public func put(_ path: String, body: String, token: String?, timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        var headers = Self.bearer(token)
        headers["Content-Type"] = "application/json"
        return try await request("PUT", path, body: Data(body.utf8), headers: headers, timeout: timeout)
    }

    public func put(_ path: String, json: JSONValue, token: String?, timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await put(path, body: json.jsonText, token: token, timeout: timeout)
    }

    public func delete(_ path: String, token: String?, timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await request("DELETE", path, body: nil, headers: Self.bearer(token), timeout: timeout)
    }

    /// `GET /v1/conversations/{id}/messages` with the optional `after` and `limit`.
    public func history(_ conversationID: String, token: String?, after: Int? = nil, limit: Int? = nil) async throws -> HTTPResponse {
        var query: [String] = []
        if let after { query.append("after=\(after)") }
        if let limit { query.append("limit=\(limit)") }
        let path = "/v1/conversations/\(conversationID)/messages" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        return try await get(path, token: token)
    }

    /// Every entry of a conversation's history, following `next` from `after=0` (pages of
    /// `limit`); throws when a page is not 200.
    public func fullHistory(_ conversationID: String, token: String?, limit: Int = 200) async throws -> [JSONValue] {
        var entries: [JSONValue] = []
        var path: String? = "/v1/conversations/\(conversationID)/messages?after=0&limit=\(limit)"
        var pages = 0
        while let current = path {
            let response = try await get(current, token: token)
            guard response.status == 200, let json = response.json else {
                throw GatewayHTTPError.unexpectedResponse(request: "GET \(current)", response)
            }
            entries += json["entries"]?.arrayValue ?? []
            path = json["next"]?.stringValue
            pages += 1
            if pages > 10_000 { throw GatewayHTTPError.transport(request: "GET \(current)", "more than 10,000 pages: `next` loops") }
        }
        return entries
    }

    /// `POST /v1/offline-messages`.
    public func offlineMessage(name: String, email: String, text: String, skill: String? = nil, token: String?) async throws -> HTTPResponse {
        var body: [String: JSONValue] = ["name": .string(name), "email": .string(email), "text": .string(text)]
        if let skill { body["skill"] = .string(skill) }
        return try await post("/v1/offline-messages", json: .object(body), token: token)
    }
}
