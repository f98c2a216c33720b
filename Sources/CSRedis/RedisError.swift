/// The single error type thrown by this module.
///
/// Switch on ``code`` (stable across releases); ``message`` is for humans and logs.
/// For ``Code/serverError`` the message is Redis' full error text, and
/// ``redisErrorPrefix`` gives its leading code word (`NOSCRIPT`, `WRONGTYPE`, ...).
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The stable identifier, e.g. `server_error`; safe to log and to match on.
        public let rawValue: String
        /// Creates a code; prefer the predefined static members.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The ``rawValue``.
        public var description: String { self.rawValue }

        /// Redis answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
        public static let serverError = Code(rawValue: "server_error")
        /// The connection was closed while the command was in flight; the command may or may not have run.
        public static let connectionClosed = Code(rawValue: "connection_closed")
        /// The TCP connection could not be established (refused, unreachable, DNS failure).
        public static let connectionFailed = Code(rawValue: "connection_failed")
        /// The TCP connection was not established within `connectTimeout`.
        public static let connectTimeout = Code(rawValue: "connect_timeout")
        /// No reply within `commandTimeout`; the connection was closed (the command may have run).
        public static let commandTimeout = Code(rawValue: "command_timeout")
        /// Not connected, and no connection could be made within `connectTimeout`.
        public static let unavailable = Code(rawValue: "unavailable")
        /// Redis sent bytes that are not valid RESP, or a reply nobody asked for.
        public static let protocolError = Code(rawValue: "protocol_error")
        /// A `redis://` URL could not be parsed.
        public static let invalidURL = Code(rawValue: "invalid_url")
        /// `AUTH` was rejected (wrong user name or password).
        public static let authenticationFailed = Code(rawValue: "authentication_failed")
        /// The client (or subscriber) was closed.
        public static let clientClosed = Code(rawValue: "client_closed")
        /// The command cannot be sent (for example it has no arguments).
        public static let invalidCommand = Code(rawValue: "invalid_command")
        /// A function library this process needs is missing or of another version, and this
        /// user may not load it (``RedisClient/installFunctions(_:)``).
        public static let functionsNotLoaded = Code(rawValue: "functions_not_loaded")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// Details; for ``Code/serverError`` exactly the text Redis sent (without the leading `-`).
    public var message: String

    /// Creates an error with the given code and message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// For a ``Code/serverError``, the first word of the Redis error when it is an upper-case
    /// error code (`ERR`, `NOSCRIPT`, `WRONGTYPE`, `NOPERM`, `BUSYGROUP`, `WRONGPASS`, ...); otherwise `nil`.
    public var redisErrorPrefix: String? {
        guard self.code == .serverError else { return nil }
        let word = self.message.prefix { $0 != " " }
        guard !word.isEmpty,
              word.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" })
        else { return nil }
        return String(word)
    }

    /// `RedisError(<code>): <message>`.
    public var description: String { "RedisError(\(self.code)): \(self.message)" }

    static func server(_ message: String) -> RedisError { RedisError(code: .serverError, message: message) }
}

extension RedisError {
    /// Wraps any error thrown by NIO (or elsewhere) as a `RedisError`, keeping `RedisError`s unchanged.
    static func wrapping(_ error: any Error, as code: Code, context: String) -> RedisError {
        if let redisError = error as? RedisError { return redisError }
        return RedisError(code: code, message: "\(context): \(error)")
    }
}
