/// A Lua script that runs in Redis as a function of a ``RedisFunctionLibrary``, called with `FCALL`.
///
/// The body reads `KEYS` and `ARGV` exactly as an `EVAL` script does. Scripts run as functions
/// rather than with `EVAL`/`EVALSHA` so that a Redis ACL can allow a role to call its own
/// functions only (`+fcall|<name>`) and nothing else: a role with `EVAL` can run any Lua within
/// its key patterns, including a loop that blocks Redis (docs/operations.md, "Redis ACL users").
/// Functions are also stored in the RDB and AOF and replicated, unlike the script cache.
///
/// Create scripts once (as `static let`), group them into libraries, install the libraries at
/// startup (``RedisClient/installFunctions(_:)``) and call them with ``RedisClient/callFunction(_:keys:arguments:)``.
public struct RedisScript: Sendable, Hashable {
    /// The function's name, unique across every library: `[A-Za-z0-9_]`, starting with a letter.
    public let name: String
    /// The Lua body.
    public let source: String

    /// A function named `name` (checked: it is spliced into the library's code) running `source`.
    public init(_ name: String, _ source: String) {
        precondition(Self.isValidName(name), "a Redis function name is [A-Za-z0-9_], starting with a letter: \(name)")
        self.name = name
        self.source = source
    }

    /// `FCALL name numkeys key... arg...`, usable inside ``RedisClient/pipeline(_:)``; a slot
    /// answering ``RedisError/isMissingFunction`` means the library must be loaded again
    /// (``RedisClient/reloadFunctions(for:)``) and the call retried.
    public func callCommand(keys: [RedisArgument] = [], arguments: [RedisArgument] = []) -> [RedisArgument] {
        ["FCALL", RedisArgument(self.name), RedisArgument(keys.count)] + keys + arguments
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first) else { return false }
        return name.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F }
    }
}
