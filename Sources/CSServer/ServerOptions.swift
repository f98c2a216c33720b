import ArgumentParser
import CSCore
import CSRedis
import Foundation
import Logging

/// Reads a configuration value from the environment (flags win over it).
public func environment(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}

/// Options every process shares: Redis, logging, partitions.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("redis-url"), help: "Redis URL, redis://[user[:password]@]host[:port][/db] (env CS_REDIS_URL).")
    public var redisURL: String = environment("CS_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env CS_LOG_LEVEL).")
    public var logLevel: String = environment("CS_LOG_LEVEL") ?? "info"

    @Option(name: .customLong("partitions"), help: "Number of inbound stream partitions; all processes must agree (env CS_PARTITIONS).")
    public var partitions: Int = environment("CS_PARTITIONS").flatMap(Int.init) ?? 8

    public init() {}

    public func validate() throws {
        guard (1...1024).contains(partitions) else { throw ValidationError("--partitions must be 1...1024") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
        let redis: RedisConfiguration
        do { redis = try RedisConfiguration(url: redisURL) } catch { throw ValidationError("--redis-url: \(error)") }
        if let password = redis.password, let problem = ExampleSecrets.problem(password, name: "the password of --redis-url") {
            throw ValidationError(problem)
        }
    }

    /// The Redis configuration, named for `CLIENT LIST`.
    public func redisConfiguration(clientName: String) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.clientName = clientName
        return configuration
    }

    /// Sets up swift-log once per process: one line per event on standard error; warnings and
    /// errors are also remembered in `stats` for the heartbeat.
    public func bootstrapLogging(stats: ProcessStats? = nil) {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            guard let stats else { return handler }
            return MultiplexLogHandler([handler, ErrorRecordingLogHandler(stats: stats)])
        }
    }
}

/// A default process id: `<prefix>-<host>-<pid>`.
public func defaultProcessID(_ prefix: String) -> String {
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local"
    return "\(prefix)-\(host)-\(ProcessInfo.processInfo.processIdentifier)"
}

/// Stops a process whose partition count disagrees with the deployment's, which would break order.
public struct PartitionCountCheck: Sendable {
    public struct Mismatch: Error, CustomStringConvertible {
        public var configured: Int
        public var stored: Int
        public var description: String {
            "--partitions \(configured) disagrees with \(stored) stored in \(RedisKeys.partitionCount); "
                + "every gateway and dispatcher must use the same count"
        }
    }

    /// Records `count` if none is stored yet and verifies it otherwise.
    public static func verify(_ count: Int, redis: RedisClient) async throws {
        _ = try await redis.send("SET", .init(RedisKeys.partitionCount), .init(count), "NX")
        let stored = try await redis.send("GET", .init(RedisKeys.partitionCount)).int
        if let stored, stored != count { throw Mismatch(configured: count, stored: stored) }
    }
}

/// Milliseconds since the Unix epoch.
public func nowMilliseconds() -> Int { Int(Date().timeIntervalSince1970 * 1000) }
