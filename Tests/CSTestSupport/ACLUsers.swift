import CSRedis
import Foundation
import Logging

/// The Redis ACL users of the deployment (`deploy/redis/users.acl.template`, rendered with random
/// passwords the way `deploy/redis/render-acl.sh` renders an operator's own file).
///
/// The server loads a copy of the file with one more user, the test's own superuser, only to read
/// `ACL LOG` (every refusal Redis recorded, also those inside scripts and pipelines that the
/// processes do not log).
///
/// ```swift
/// let users = try ACLUsers.deployment()
/// defer { users.removeCopy() }
/// let redis = try await RedisServer(appendOnly: true, extraArguments: users.redisArguments)
/// let url = users.url(.gateway, port: redis.port)   // redis://gateway:<password>@127.0.0.1:<port>
/// ```
public struct ACLUsers: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case gateway, dispatcher, notifier, webhooks, archiver, admin
        /// The variable of `deploy/.env.example` (and of render-acl.sh) holding the role's password.
        public var passwordVariable: String { "CS_REDIS_PASSWORD_" + rawValue.uppercased() }
    }

    /// The ACL file the server loads: the rendered template plus the check user.
    public let aclFile: URL
    /// Password of each role.
    public let passwords: [Role: String]
    static let checkUser = "cs-test-check"
    let checkPassword: String

    /// `deploy/redis/users.acl.template` rendered by `deploy/redis/render-acl.sh` with fresh
    /// random passwords (the processes refuse the example ones of `deploy/.env.example`), plus
    /// the check user.
    public static func deployment() throws -> ACLUsers {
        let deploy = BuildProducts.packageRoot.appendingPathComponent("deploy")
        var passwords: [Role: String] = [:]
        var environment = ProcessInfo.processInfo.environment
        for role in Role.allCases {
            let password = "test-" + role.rawValue + "-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            passwords[role] = password
            environment[role.passwordVariable] = password
        }
        let render = Process()
        render.executableURL = deploy.appendingPathComponent("redis/render-acl.sh")
        render.environment = environment
        let output = Pipe()
        render.standardOutput = output
        try render.run()
        let rendered = output.fileHandleForReading.readDataToEndOfFile()
        render.waitUntilExit()
        guard render.terminationStatus == 0, var text = String(data: rendered, encoding: .utf8) else {
            throw ACLUsersError(message: "deploy/redis/render-acl.sh failed with status \(render.terminationStatus)")
        }
        if !text.hasSuffix("\n") { text += "\n" }
        let checkPassword = UUID().uuidString
        text += "user \(checkUser) on >\(checkPassword) ~* &* +@all\n"
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("cs-users-\(UUID().uuidString).acl")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        return ACLUsers(aclFile: copy, passwords: passwords, checkPassword: checkPassword)
    }

    /// Removes the ACL file copy.
    public func removeCopy() { try? FileManager.default.removeItem(at: aclFile) }

    /// Arguments for ``RedisServer`` that load the ACL file.
    public var redisArguments: [String] { ["--aclfile", aclFile.path] }

    /// `redis://<role>:<password>@127.0.0.1:<port>`
    public func url(_ role: Role, port: Int) -> String {
        "redis://\(role.rawValue):\(passwords[role] ?? "")@127.0.0.1:\(port)"
    }

    /// Sends one command on a fresh connection as `role` (nil: without credentials) and returns
    /// the error Redis answered (e.g. `NOPERM this user has no permissions...`), or nil when the
    /// command succeeded. Other failures (connection, authentication) are thrown.
    public func errorReply(as role: Role?, port: Int, _ arguments: [String]) async throws -> String? {
        switch try await Self.send(username: role?.rawValue, password: role.flatMap { passwords[$0] }, port: port, arguments) {
        case .success: return nil
        case .failure(let error): return error.message
        }
    }

    /// The refusals Redis recorded (`ACL LOG`), one line each: user, reason, object, command.
    public func aclLog(port: Int) async throws -> [String] {
        let entries = try await Self.send(username: Self.checkUser, password: checkPassword, port: port, ["ACL", "LOG", "128"]).get()
        return (entries.array ?? []).map { entry in
            let items = entry.array ?? []
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                if let key = items[index].string { fields[key] = items[index + 1].string ?? items[index + 1].int.map(String.init) }
            }
            let what = ["username", "reason", "context", "object", "count"].map { "\($0)=\(fields[$0] ?? "?")" }
            return what.joined(separator: " ")
        }
    }

    /// Empties `ACL LOG`.
    public func resetACLLog(port: Int) async throws {
        _ = try await Self.send(username: Self.checkUser, password: checkPassword, port: port, ["ACL", "LOG", "RESET"]).get()
    }

    static func send(username: String?, password: String?, port: Int, _ arguments: [String]) async throws -> Result<RESPValue, RedisError> {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port, username: username, password: password)
        configuration.healthCheckInterval = nil
        let client = RedisClient(configuration: configuration, logger: Logger(label: "acl-check"))
        let result: Result<RESPValue, RedisError>
        do {
            result = .success(try await client.send(arguments.map { RedisArgument($0) }))
        } catch let error as RedisError where error.code == .serverError {
            result = .failure(error)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
        return result
    }
}

public struct ACLUsersError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "ACLUsersError: \(message)" }
}

extension Cluster {
    /// Starts a notifier connected with `redisURL` instead of the cluster's URL (e.g. as its
    /// own ACL user); it is stopped with the cluster like the others.
    @discardableResult
    public func startNotifier(id: String, redisURL: String) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-notifier",
            name: "notifier-\(id)",
            arguments: ["--redis-url", redisURL, "--notifier-id", id, "--log-level", configuration.logLevel]
        )
        lock.withLock { _notifiers.append(process) }
        return process
    }

    /// Log lines of every process of the cluster that contain `text` (e.g. `NOPERM`).
    public func processLogLines(containing text: String) -> [String] {
        allProcesses.flatMap { process in
            process.log().split(separator: "\n").filter { $0.contains(text) }.map { "\(process.name): \($0)" }
        }
    }
}
