/// Where and how to connect to Redis. Shared by ``RedisClient`` and ``RedisSubscriber``.
public struct RedisConfiguration: Sendable, Hashable {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port.
    public var port: Int
    /// ACL user for `AUTH username password`; `nil` uses `AUTH password` (the `default` user).
    public var username: String?
    /// Password; `AUTH` is sent only when this is set.
    public var password: String?
    /// Database index selected with `SELECT` after connecting (only when not 0; ignored by the subscriber).
    public var database: Int
    /// Time allowed for the TCP connect, and how long a command waits for a connection while disconnected.
    public var connectTimeout: Duration
    /// Time allowed for each reply. On expiry the command fails with ``RedisError/Code/commandTimeout``
    /// and the connection is closed (a reply cannot be skipped in a pipeline) and re-established.
    public var commandTimeout: Duration
    /// Delays between reconnect attempts.
    public var reconnectBackoff: RedisReconnectBackoff
    /// Sent with `CLIENT SETNAME` after connecting, so the connection is recognisable in `CLIENT LIST`.
    /// Must not contain spaces.
    public var clientName: String?
    /// How often ``RedisSubscriber`` sends `PING` to detect a dead connection (`nil` disables it).
    /// A `PING` without a reply within ``commandTimeout`` closes the connection, which is then re-established.
    public var healthCheckInterval: Duration?

    /// Creates a configuration; every parameter has a production-sensible default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        reconnectBackoff: RedisReconnectBackoff = RedisReconnectBackoff(),
        clientName: String? = nil,
        healthCheckInterval: Duration? = .seconds(15)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoff = reconnectBackoff
        self.clientName = clientName
        self.healthCheckInterval = healthCheckInterval
    }
}

/// Exponential backoff between reconnect attempts: `initial`, doubled after each failed
/// attempt up to `max`, each delay randomised by ±`jitter` (a fraction, 0.2 = ±20 %).
public struct RedisReconnectBackoff: Sendable, Hashable {
    /// Delay before the first retry.
    public var initial: Duration
    /// Upper bound of the delay (before jitter).
    public var max: Duration
    /// Relative random spread applied to every delay, in `0...1`.
    public var jitter: Double

    /// Defaults: 50 ms doubling to 2 s, ±20 % jitter.
    public init(initial: Duration = .milliseconds(50), max: Duration = .seconds(2), jitter: Double = 0.2) {
        self.initial = initial
        self.max = max
        self.jitter = Swift.min(Swift.max(jitter, 0), 1)
    }

    /// The delay before retry number `attempt` (1 = first retry).
    public func delay(forAttempt attempt: Int) -> Duration {
        let exponent = Swift.min(Swift.max(attempt - 1, 0), 30)
        var base = self.initial
        for _ in 0..<exponent where base < self.max { base = base * 2 }
        base = Swift.min(base, self.max)
        guard self.jitter > 0 else { return base }
        let factor = Double.random(in: (1 - self.jitter)...(1 + self.jitter))
        return base * factor
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// A log-safe summary: `redis://user:***@host:port/db`, never the password.
    public var description: String {
        var userInfo = ""
        if self.username != nil || self.password != nil {
            userInfo = (self.username ?? "") + (self.password == nil ? "" : ":***") + "@"
        }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(userInfo)\(host):\(self.port)/\(self.database)"
    }
}
