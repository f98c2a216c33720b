import CSCore
import CSRedis
import CSServer
import Foundation
import Hummingbird

extension GatewayContext {
    /// HTTP endpoints of docs/api.md.
    func addHTTPRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, #"{"status":"ok","gatewayId":"# + Self.quoted(self.configuration.gatewayID) + "}")
        }
        router.get("/readyz") { _, _ in
            // A draining gateway takes no new clients: the balancer should send them elsewhere.
            if self.drain.isDraining { return Self.error(.serviceUnavailable, ChatError(.unavailable, "draining")) }
            do {
                _ = try await self.redis.send("PING")
                return Self.json(.ok, #"{"status":"ready"}"#)
            } catch {
                return Self.error(.serviceUnavailable, ChatError(.unavailable, "redis unreachable"))
            }
        }
        router.post("/v1/visitor/session") { request, context in
            await Self.answer {
                try self.sessionLimiter.admit(context.remoteAddress?.ipAddress, what: "visitor sessions")
                return try await self.visitorSession(request)
            }
        }
        router.post("/v1/agent/login") { request, context in
            await Self.answer {
                try self.loginLimiter.admit(context.remoteAddress?.ipAddress, what: "sign-in attempts")
                return try await self.agentLogin(request)
            }
        }
        router.post("/v1/agent/refresh") { request, _ in
            await Self.answer { try await self.refreshStaffToken(request) }
        }
    }

    private struct VisitorSessionRequest: Decodable {
        var name: String?
        var token: String?
    }

    private func visitorSession(_ request: Request) async throws -> Response {
        let body = try await Self.decode(VisitorSessionRequest.self, from: request)
        if let name = body.name, let problem = DisplayName.problem(name) {
            throw ChatError(.invalidField, problem)
        }
        var visitor = Participant(id: Identifier.newVisitorID(), role: .customer, name: body.name ?? "Visitor")
        if let token = body.token, let previous = try? await tokens.verify(token), previous.role == .customer {
            visitor = Participant(id: previous.id, role: .customer, name: body.name ?? previous.name)
        }
        let (token, expiresAt) = try await tokens.issue(for: visitor)
        // Lets targeted notifications tell a real visitor from a typo.
        _ = try await redis.send("SET", .init(RedisKeys.visitorSeen(visitor.id)), "1", "EX", .init(Int(tokens.visitorLifetime)))
        var json = JSONText()
        json.raw("{")
        json.field("visitorId", visitor.id, first: true)
        json.field("name", visitor.name)
        json.field("token", token)
        json.field("expiresAt", Self.iso8601(expiresAt))
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private struct AgentLoginRequest: Decodable {
        var agentId: String?
        var password: String?
    }

    private func agentLogin(_ request: Request) async throws -> Response {
        let body = try await Self.decode(AgentLoginRequest.self, from: request)
        guard let agentID = body.agentId, Identifier.isValid(agentID) else { throw ChatError(.invalidField, "agentId is required") }
        guard let password = body.password, !password.isEmpty, password.utf8.count <= 1024 else {
            throw ChatError(.invalidField, "password is required")
        }
        // Per account, across gateways: unknown ids are counted too, so 429 tells nothing.
        if let wait = try await loginFailures.retryAfterSeconds(agentID) {
            throw HTTPThrottle(ChatError(.rateLimited, "too many failed sign-ins for this account; retry later"), retryAfterSeconds: wait)
        }
        // An unknown id costs a hash check too (against a dummy hash): the time does not tell.
        let agent = try await agents.find(agentID)
        guard try await passwordWork.verify(password, against: agent?.passwordHash), let agent else {
            try await loginFailures.recordFailure(agentID)
            throw ChatError(.invalidCredentials, "unknown agent or wrong password")
        }
        try await loginFailures.clear(agentID)
        return try await staffTokenAnswer(for: agent)
    }

    /// `POST /v1/agent/refresh`: a new token for the bearer of a staff token that is still valid
    /// (and still matches its account), so that consoles stay signed in with short-lived tokens.
    private func refreshStaffToken(_ request: Request) async throws -> Response {
        let caller = try await authenticateVerified(request)
        guard caller.participant.role.isStaff else { throw ChatError(.forbidden, "staff tokens only") }
        // The account as it is now (name and version): `authenticate` checked role and version.
        guard let agent = try await agents.find(caller.participant.id) else { throw ChatError(.unauthorized, "the account no longer exists") }
        return try await staffTokenAnswer(for: agent)
    }

    private func staffTokenAnswer(for agent: AgentRecord) async throws -> Response {
        let (token, expiresAt) = try await tokens.issue(for: agent.participant, tokenVersion: agent.tokenVersion)
        var json = JSONText()
        json.raw("{")
        json.field("token", token, first: true)
        json.field("expiresAt", Self.iso8601(expiresAt))
        json.key("agent")
        json.raw(Self.render(agent, load: nil))
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    // MARK: Helpers

    static func answer(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let throttle as HTTPThrottle {
            var response = Self.error(throttle.error.code == .rateLimited ? .tooManyRequests : .serviceUnavailable, throttle.error)
            response.headers[.retryAfter] = String(throttle.retryAfterSeconds)
            return response
        } catch let error as ChatError {
            let status: HTTPResponse.Status =
                switch error.code {
                case .invalidCredentials, .unauthorized: .unauthorized
                case .forbidden: .forbidden
                case .notFound: .notFound
                case .unavailable: .serviceUnavailable
                case .rateLimited: .tooManyRequests
                case .tooLarge: .contentTooLarge
                case .unsupportedType: .unsupportedMediaType
                case .limitReached: .conflict
                case .internal: .internalServerError
                default: .badRequest
                }
            return Self.error(status, error)
        } catch is RedisError {
            return Self.error(.serviceUnavailable, ChatError(.unavailable, "temporarily unavailable; try again"))
        } catch {
            return Self.error(.internalServerError, ChatError(.internal, "internal error"))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 16 * 1024)
        } catch {
            throw ChatError(.badRequest, "body must be a JSON object of at most 16 KiB")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw ChatError(.invalidField, "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw ChatError(.badRequest, "body must be a JSON object")
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ error: ChatError) -> Response {
        var json = JSONText()
        json.raw(#"{"error":{"#)
        json.field("code", error.code.rawValue, first: true)
        json.field("message", error.message)
        json.raw("}}")
        return Self.json(status, json.text)
    }

    static func quoted(_ value: String) -> String {
        var json = JSONText()
        json.string(value)
        return json.text
    }

    private static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
