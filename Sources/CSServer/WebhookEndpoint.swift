import CSCore
import Foundation

/// A registered webhook endpoint (docs/api.md "Webhooks"), stored as JSON in
/// `cs:{webhooks}:endpoints` and never changed after registration (pausing is `WebhookEndpointStatus`).
public struct WebhookEndpoint: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    public var types: [WebhookEventType]
    /// The HMAC key of the signature (`WebhookSignature`); shown once, when the endpoint is added.
    public var secret: String
    public var createdAt: Int
    public var createdBy: String

    public init(id: String, url: String, types: [WebhookEventType], secret: String, createdAt: Int, createdBy: String) {
        self.id = id
        self.url = url
        self.types = types
        self.secret = secret
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    /// A new endpoint id: `wh_` and 12 random characters.
    public static func newID() -> String { "wh_" + Identifier.random(12) }

    /// A new secret: `whsec_` and 32 random characters (about 163 bits).
    public static func newSecret() -> String { "whsec_" + Identifier.random(32) }

    /// A supervisor-chosen secret: 16-128 printable ASCII characters without spaces.
    public static func isValidSecret(_ secret: String) -> Bool {
        (16...128).contains(secret.utf8.count) && secret.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    public init?(json: String) {
        guard let value = try? JSONDecoder().decode(Self.self, from: Data(json.utf8)) else { return nil }
        self = value
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// What happens to an endpoint besides its registration: paused (by a supervisor, or by
/// `cs-webhooks` after it kept failing) and the last delivery error; two hashes, two writers.
public struct WebhookEndpointStatus: Sendable, Equatable {
    public enum PauseReason: String, Codable, Sendable {
        /// `POST /v1/webhooks/{id}/pause` or `cs-admin webhook pause`.
        case manual
        /// Deliveries kept failing (docs/operations.md "Webhooks").
        case failing
    }

    public struct Pause: Codable, Sendable, Equatable {
        public var reason: PauseReason
        public var since: Int
        public init(reason: PauseReason, since: Int) {
            self.reason = reason
            self.since = since
        }
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var error: String
        public var at: Int
        public init(error: String, at: Int) {
            self.error = error
            self.at = at
        }
    }

    public var pause: Pause?
    public var failure: Failure?

    public init(pause: Pause? = nil, failure: Failure? = nil) {
        self.pause = pause
        self.failure = failure
    }

    public var paused: Bool { pause != nil }
}

/// Small values stored as JSON in the webhook hashes.
public protocol WebhookJSONValue: Codable {}

extension WebhookEndpointStatus.Pause: WebhookJSONValue {}
extension WebhookEndpointStatus.Failure: WebhookJSONValue {}

extension WebhookJSONValue {
    /// Decodes the JSON Redis holds; nil when it does not decode.
    public init?(webhookJSON json: String) {
        guard let value = try? JSONDecoder().decode(Self.self, from: Data(json.utf8)) else { return nil }
        self = value
    }

    /// Encodes for Redis: sorted keys, `/` unescaped.
    public var webhookJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
