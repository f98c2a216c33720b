/// An error a client can see, with a stable machine-readable code.
///
/// The codes are part of the public protocol (docs/protocol.md, docs/api.md): never rename one.
public struct ChatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes shared by the WebSocket protocol and the HTTP API.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case badRequest = "bad_request"
        case unknownType = "unknown_type"
        case invalidField = "invalid_field"
        case unauthorized
        case invalidCredentials = "invalid_credentials"
        case forbidden
        case notFound = "not_found"
        case conversationClosed = "conversation_closed"
        /// A rating for a conversation that is not closed yet.
        case conversationOpen = "conversation_open"
        /// A rating after the rating window of the conversation ended.
        case ratingFinal = "rating_final"
        case agentUnavailable = "agent_unavailable"
        case unknownUsers = "unknown_users"
        case unavailable
        case rateLimited = "rate_limited"
        case tooLarge = "too_large"
        /// An upload whose first bytes are not of an allowed type (docs/api.md, "Attachments").
        case unsupportedType = "unsupported_type"
        case `internal`
        /// A webhook URL the policy refuses (`WebhookURLPolicy`: scheme, form, non-public target).
        case webhookURLRefused = "webhook_url_refused"
        /// A count limit was reached (e.g. 100 webhook endpoints).
        case limitReached = "limit_reached"
    }

    public var code: Code
    /// Human-readable explanation; never contains secrets or message bodies.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// WebSocket close codes the gateway uses (docs/protocol.md, "Close codes").
public enum ChatCloseCode: UInt16, Sendable {
    case normal = 1000
    case goingAway = 1001
    case protocolError = 1002
    case unsupportedData = 1003
    case invalidPayload = 1007
    case tooLarge = 1009
    case internalError = 1011
    case unauthorized = 4001
    case rateLimited = 4008
    case slowConsumer = 4009
}
