import ArgumentParser
import CSCore
import CSServer

/// `cs-admin canned ...`: team and personal canned responses (docs/operations.md).
struct CannedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canned", abstract: "Add, list and remove canned responses (team or personal).",
        subcommands: [Add.self, List.self, Remove.self])

    /// `--team` or `--agent ID`, exactly one.
    struct OwnerOptions: ParsableArguments {
        @Flag(help: "The team's responses, shared by every agent.") var team = false
        @Option(help: "The personal responses of this agent id.") var agent: String?

        func validate() throws {
            guard team != (agent != nil) else { throw ValidationError("give exactly one of --team and --agent ID") }
            if let agent, !Identifier.isValid(agent) {
                throw ValidationError("--agent must be 1-64 characters of [A-Za-z0-9._-]")
            }
        }

        var owner: CannedResponseOwner { agent.map(CannedResponseOwner.agent) ?? .team }
    }

    static func checkShortcut(_ shortcut: String) throws {
        guard CannedResponseStore.isValidShortcut(shortcut) else {
            throw ValidationError("--shortcut must be 1-\(CannedResponseStore.maxShortcutLength) characters of [A-Za-z0-9._-]")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace a canned response.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var owner: OwnerOptions
        @Option(help: "Shortcut: 1-32 characters of [A-Za-z0-9._-].") var shortcut: String
        @Option(help: "Text: 1-2000 characters.") var text: String

        func validate() throws {
            try CannedCommand.checkShortcut(shortcut)
            guard CannedResponseStore.isValidText(text) else {
                throw ValidationError("--text must be 1-\(CannedResponseStore.maxTextCharacters) characters")
            }
        }

        func run() async throws {
            let owner = owner.owner
            try await options.withRedis { redis in
                if case .agent(let id) = owner, try await AgentDirectory(redis: redis).find(id) == nil {
                    throw CannedFailure("no agent \(id)")
                }
                try await CannedResponseStore(redis: redis).save(CannedResponse(shortcut: shortcut, text: text), for: owner)
            }
            print("canned response \(shortcut) saved for \(owner)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the team's canned responses, and an agent's with --agent.")
        @OptionGroup var options: AdminOptions
        @Option(help: "Also list the personal responses of this agent id.") var agent: String?

        func run() async throws {
            let rows: [(String, CannedResponse)] = try await options.withRedis { redis in
                let store = CannedResponseStore(redis: redis)
                var rows = try await store.list(.team).map { ("team", $0) }
                if let agent {
                    rows += try await store.list(.agent(agent)).map { (agent, $0) }
                }
                return rows
            }
            print(pad("OWNER", 16) + pad("SHORTCUT", 20) + "TEXT")
            for (owner, response) in rows {
                let text = response.text.replacingOccurrences(of: "\n", with: "\\n")
                print(pad(owner, 16) + pad(response.shortcut, 20) + text)
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a canned response.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var owner: OwnerOptions
        @Option(help: "Shortcut of the response to remove.") var shortcut: String

        func validate() throws {
            try CannedCommand.checkShortcut(shortcut)
        }

        func run() async throws {
            let owner = owner.owner
            let removed = try await options.withRedis { try await CannedResponseStore(redis: $0).remove(shortcut: shortcut, for: owner) }
            guard removed else { throw CannedFailure("no canned response \(shortcut) for \(owner)") }
            print("canned response \(shortcut) removed for \(owner)")
        }
    }
}

/// A failure reported as `Error: <message>` with exit code 1 (no usage text).
struct CannedFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
