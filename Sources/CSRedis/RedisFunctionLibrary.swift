/// A Redis function library (`FUNCTION LOAD`): scripts registered as functions under one name.
///
/// Its ``code`` is deterministic, so a process can tell whether Redis holds exactly the version it
/// was built with (`FUNCTION LIST LIBRARYNAME <name> WITHCODE`) and load it only when not.
public struct RedisFunctionLibrary: Sendable, Hashable {
    /// The library's name, `[A-Za-z0-9_]`.
    public let name: String
    /// Its functions, in registration order.
    public let functions: [RedisScript]
    /// The Lua source given to `FUNCTION LOAD`: each script's body wrapped in a function of
    /// `KEYS` and `ARGV`, so bodies read them exactly as under `EVAL`.
    public let code: String

    public init(name: String, functions: [RedisScript]) {
        precondition(RedisScript.isValidName(name), "a Redis function library name is [A-Za-z0-9_]: \(name)")
        precondition(Set(functions.map(\.name)).count == functions.count, "duplicate function names in library \(name)")
        self.name = name
        self.functions = functions
        var code = "#!lua name=\(name)\n"
        for function in functions {
            code += "redis.register_function('\(function.name)', function(KEYS, ARGV)\n\(function.source)\nend)\n"
        }
        self.code = code
    }

    /// `FUNCTION LOAD REPLACE code`.
    public var loadCommand: [RedisArgument] { ["FUNCTION", "LOAD", "REPLACE", RedisArgument(code)] }
}
