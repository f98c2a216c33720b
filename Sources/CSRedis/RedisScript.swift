import Crypto

/// A Lua script identified by the SHA1 of its source, for `EVALSHA`/`EVAL`.
///
/// Create scripts once (e.g. as `static let`) and run them with ``RedisClient/evalScript(_:keys:arguments:)``.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// Lower-case hex SHA1 of ``source``, as Redis computes it.
    public let sha1: String

    /// Wraps `source` and computes its SHA1 (cheap, but do it once per script, not per call).
    public init(_ source: String) {
        self.source = source
        let digest = Insecure.SHA1.hash(data: Array(source.utf8))
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(40)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0f)])
        }
        self.sha1 = String(decoding: hex, as: UTF8.self)
    }

    /// `EVALSHA sha1 numkeys key... arg...` — usable inside ``RedisClient/pipeline(_:)``; a slot
    /// holding a `NOSCRIPT` error means the script must be loaded (``RedisClient/loadScripts(_:)``) and retried.
    public func evalshaCommand(keys: [RedisArgument] = [], arguments: [RedisArgument] = []) -> [RedisArgument] {
        ["EVALSHA", RedisArgument(self.sha1), RedisArgument(keys.count)] + keys + arguments
    }

    /// `EVAL source numkeys key... arg...` (also caches the script in Redis).
    public func evalCommand(keys: [RedisArgument] = [], arguments: [RedisArgument] = []) -> [RedisArgument] {
        ["EVAL", RedisArgument(self.source), RedisArgument(keys.count)] + keys + arguments
    }
}
