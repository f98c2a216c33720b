import CSRedis

/// Calls per command from `INFO commandstats`, to count Redis commands per chat message.
///
/// Redis counts every command it executes there, including the ones a Lua script runs with
/// `redis.call`; ``clientSent()`` estimates what clients sent themselves.
struct RedisCommandStats: Sendable {
    var calls: [String: Int]

    /// Reads `INFO commandstats`.
    static func read(_ redis: RedisClient) async throws -> RedisCommandStats {
        let text = try await redis.send("INFO", "commandstats").string ?? ""
        var calls: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            for field in line[line.index(after: colon)...].split(separator: ",") where field.hasPrefix("calls=") {
                calls[name] = Int(field.dropFirst(6))
            }
        }
        return RedisCommandStats(calls: calls)
    }

    /// Calls made since `earlier`.
    func since(_ earlier: RedisCommandStats) -> RedisCommandStats {
        var delta: [String: Int] = [:]
        for (name, count) in calls {
            let difference = count - (earlier.calls[name] ?? 0)
            if difference > 0 { delta[name] = difference }
        }
        return RedisCommandStats(calls: delta)
    }

    var total: Int { calls.values.reduce(0, +) }

    /// Commands the system's Lua scripts call (CSServer's ConversationScripts, RoutingScripts,
    /// LeaseScripts and the dispatcher's compare-and-delete); in steady-state chat they run only
    /// inside scripts, except the gateway's XADD, which is counted by accepted messages instead.
    static let scriptCommands: Set<String> = [
        "hget", "hmget", "hsetnx", "xdel", "hincrby", "xadd", "hset", "expire", "publish", "zremrangebyscore", "zrange", "rpush", "sadd",
        "hexists", "lindex", "lpop", "hdel", "scard", "smembers", "srem", "lrem", "del", "get", "set", "pexpire",
    ]

    /// Estimated commands sent by clients (round-trip commands, not those run inside scripts):
    /// every command that no script calls. The gateway's one command per chat message is a plain
    /// `XADD`, which scripts also call, so it is not counted here (nor are other top-level uses
    /// of script commands): a slight underestimate; `total` counts everything.
    func clientSent() -> Int {
        calls.filter { !Self.scriptCommands.contains($0.key) }.values.reduce(0, +)
    }
}

/// Redis commands per chat message over a measurement window.
struct RedisCommandsReport: Codable, Sendable {
    /// Every command Redis executed (INFO commandstats), including those inside Lua scripts, per message.
    var commandsPerMessage: Double
    /// Estimated commands clients sent (see `RedisCommandStats.clientSent`), per message.
    var clientCommandsPerMessage: Double
    /// Per command, calls per message.
    var perMessageByCommand: [String: Double]
    var messages: Int
    var totalCommands: Int

    init(delta: RedisCommandStats, messages: Int) {
        let divisor = Double(max(messages, 1))
        func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        self.messages = messages
        totalCommands = delta.total
        commandsPerMessage = round(Double(delta.total) / divisor)
        clientCommandsPerMessage = round(Double(delta.clientSent()) / divisor)
        perMessageByCommand = delta.calls.mapValues { round(Double($0) / divisor) }.filter { $0.value >= 0.001 }
    }
}
