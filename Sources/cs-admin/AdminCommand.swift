import Foundation
import ArgumentParser
import CSCore
import CSRedis
import CSServer
import Logging

@main
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-admin", abstract: "Operator tool: agents, canned responses, notifications, dead letters, status, Redis functions.",
        subcommands: [AgentCommand.self, CannedCommand.self, NotifyCommand.self, DeadCommand.self, StatusCommand.self, FunctionsCommand.self, WebhookCommand.self, DatabaseCommand.self])
}

/// Options every admin subcommand takes.
struct AdminOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Redis URL (env CS_REDIS_URL).")
    var redisURL: String = environment("CS_REDIS_URL") ?? "redis://127.0.0.1:6379"

    func validate() throws {
        let configuration: RedisConfiguration
        do { configuration = try RedisConfiguration(url: redisURL) } catch { throw ValidationError("--redis-url: \(error)") }
        if let password = configuration.password, let problem = ExampleSecrets.problem(password, name: "the password of --redis-url") {
            throw ValidationError(problem)
        }
    }

    /// Runs `body` with a connected client and closes it afterwards.
    func withRedis<T>(_ body: (RedisClient) async throws -> T) async throws -> T {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.clientName = "cs-admin"
        let redis = RedisClient(configuration: configuration, logger: Logger(label: "cs-admin"))
        do {
            let result = try await body(redis)
            await redis.close()
            return result
        } catch {
            await redis.close()
            throw error
        }
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Add, list, remove agents and set their capacity.",
        subcommands: [Add.self, List.self, Remove.self, SetCapacity.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace an agent account.")
        @OptionGroup var options: AdminOptions
        @Option(help: "Agent id used to sign in: 1-64 of [A-Za-z0-9._-].") var id: String
        @Option(help: "Display name shown to customers.") var name: String
        @Option(help: "Password (env CS_AGENT_PASSWORD).") var password: String = environment("CS_AGENT_PASSWORD") ?? ""
        @Option(help: "Comma-separated skills.") var skills: String = ConversationRules.defaultSkill
        @Option(help: "Maximum concurrent conversations.") var max: Int = 3
        @Option(help: "agent or supervisor.") var role: String = "agent"
        @Flag(help: "Keep an existing agent unchanged instead of replacing it.") var ifMissing = false

        func validate() throws {
            guard Identifier.isValid(id) else { throw ValidationError("--id must be 1-64 characters of [A-Za-z0-9._-]") }
            if let problem = DisplayName.problem(name) { throw ValidationError("--\(problem)") }
            guard password.count >= 4 else { throw ValidationError("--password must be at least 4 characters") }
            guard (1...100).contains(max) else { throw ValidationError("--max must be 1...100") }
            guard let role = ParticipantRole(rawValue: role), role.isStaff else { throw ValidationError("--role must be agent or supervisor") }
            for skill in skillList where !Identifier.isValid(skill, maxLength: ClientFrame.Limits.maxSkillLength) {
                throw ValidationError("skill '\(skill)' must be 1-32 characters of [A-Za-z0-9._-]")
            }
        }

        var skillList: [String] { skills.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

        func run() async throws {
            try await options.withRedis { redis in
                let directory = AgentDirectory(redis: redis)
                let exists = try await directory.find(id) != nil
                if ifMissing, exists {
                    print("agent \(id) exists; unchanged")
                    return
                }
                let hash = try await PasswordHasher().hash(password)
                // A replaced account (new password, perhaps a new role) loses its tokens. A new one
                // keeps version 0 (or what a removal of the same id left): no token of it exists.
                try await directory.save(AgentRecord(
                    id: id, name: name, role: ParticipantRole(rawValue: role) ?? .agent, skills: skillList,
                    maxConversations: max, passwordHash: hash), revokingTokens: exists)
                print("agent \(id) saved")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agents with their capacity and current load.")
        @OptionGroup var options: AdminOptions

        func run() async throws {
            try await options.withRedis { redis in
                let directory = AgentDirectory(redis: redis)
                let agents = try await directory.list()
                let loads = try await directory.loads()
                print(pad("ID", 16) + pad("NAME", 20) + pad("ROLE", 11) + pad("LOAD/MAX", 10) + "SKILLS")
                for agent in agents {
                    let load = "\(loads[agent.id] ?? 0)/\(agent.maxConversations)"
                    print(pad(agent.id, 16) + pad(agent.name, 20) + pad(agent.role.rawValue, 11) + pad(load, 10) + agent.skills.joined(separator: ","))
                }
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an agent account.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Agent id.") var id: String

        func run() async throws {
            let removed = try await options.withRedis { try await AgentDirectory(redis: $0).remove(id) }
            guard removed else { throw CleanExit.message("no agent \(id)") }
            print("agent \(id) removed")
        }
    }

    struct SetCapacity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-capacity", abstract: "Set an agent's maximum concurrent conversations.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Agent id.") var id: String
        @Argument(help: "Maximum concurrent conversations (1-100).") var max: Int

        func validate() throws {
            guard (1...100).contains(max) else { throw ValidationError("max must be 1...100") }
        }

        func run() async throws {
            let found = try await options.withRedis { try await AgentDirectory(redis: $0).setCapacity(id, maxConversations: max) }
            guard found else { throw ValidationError("no agent \(id)") }
            print("agent \(id) capacity set to \(max)")
        }
    }
}
