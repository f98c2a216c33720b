import ArgumentParser
import CSCore
import CSServer
import Foundation

/// `cs-admin webhook ...`: webhook endpoints (docs/operations.md "Webhooks").
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Add, list, pause, resume and remove webhook endpoints.",
        subcommands: [Add.self, List.self, Remove.self, Pause.self, Resume.self, Dead.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an endpoint; prints its id and secret.")
        @OptionGroup var options: AdminOptions
        @Option(help: "http or https URL the events are posted to.") var url: String
        @Option(help: ArgumentHelp("Comma-separated event types, or * for all: " + WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ") + "."))
        var types: String
        @Option(help: "Signing secret, 16-128 printable characters (default: a new random one).") var secret: String?
        @Flag(name: .customLong("allow-private-targets"), help: "Accept a private, loopback or link-local target.")
        var allowPrivateTargets = false

        func validate() throws {
            guard WebhookEventType.parseList(types) != nil else {
                throw ValidationError("--types must list event types: " + WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ") + " (or *)")
            }
        }

        func run() async throws {
            let endpoint = try await options.withRedis { redis in
                do {
                    return try await WebhookRegistry(redis: redis).add(
                        url: url, types: WebhookEventType.parseList(types) ?? [], secret: secret, createdBy: "cs-admin",
                        policy: WebhookURLPolicy(allowPrivateTargets: allowPrivateTargets), now: nowMilliseconds())
                } catch let error as ChatError {
                    throw CannedFailure(error.description)
                }
            }
            print("webhook \(endpoint.id) added: \(endpoint.url)")
            print("secret: \(endpoint.secret)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints with their state and last error.")
        @OptionGroup var options: AdminOptions

        func run() async throws {
            let entries = try await options.withRedis { try await WebhookRegistry(redis: $0).list() }
            print(pad("ID", 17) + pad("STATE", 16) + pad("TYPES", 40) + "URL")
            for entry in entries {
                let state = entry.status.pause.map { "paused:" + $0.reason.rawValue } ?? "active"
                print(pad(entry.endpoint.id, 17) + pad(state, 16) + pad(entry.endpoint.types.map(\.rawValue).joined(separator: ","), 40) + entry.endpoint.url)
                if let failure = entry.status.failure { print("  last error: \(failure.error) (at \(failure.at) ms)") }
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an endpoint.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Endpoint id (wh_...).") var id: String

        func validate() throws {
            guard WebhookRegistry.isValidID(id) else { throw ValidationError("not an endpoint id: \(id)") }
        }

        func run() async throws {
            guard try await options.withRedis({ try await WebhookRegistry(redis: $0).remove(id) }) else { throw CannedFailure("no webhook \(id)") }
            print("webhook \(id) removed")
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause deliveries to an endpoint (its events wait).")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Endpoint id (wh_...).") var id: String

        func validate() throws {
            guard WebhookRegistry.isValidID(id) else { throw ValidationError("not an endpoint id: \(id)") }
        }

        func run() async throws {
            let found = try await options.withRedis {
                try await WebhookRegistry(redis: $0).setPaused(id, paused: true, reason: .manual, now: nowMilliseconds())
            }
            guard found else { throw CannedFailure("no webhook \(id)") }
            print("webhook \(id) paused")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume deliveries to a paused endpoint.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Endpoint id (wh_...).") var id: String

        func validate() throws {
            guard WebhookRegistry.isValidID(id) else { throw ValidationError("not an endpoint id: \(id)") }
        }

        func run() async throws {
            let found = try await options.withRedis {
                try await WebhookRegistry(redis: $0).setPaused(id, paused: false, reason: .manual, now: nowMilliseconds())
            }
            guard found else { throw CannedFailure("no webhook \(id)") }
            print("webhook \(id) resumed")
        }
    }

    /// `cs-admin webhook dead list|replay ID`: deliveries given up on.
    struct Dead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an endpoint's dead letters, or send them again.", subcommands: [DeadList.self, DeadReplay.self])
    }

    struct DeadList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The oldest dead letters of an endpoint.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Endpoint id (wh_...).") var id: String
        @Option(help: "How many (1-1000).") var limit: Int = 50

        func validate() throws {
            guard WebhookRegistry.isValidID(id) else { throw ValidationError("not an endpoint id: \(id)") }
            guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1...1000") }
        }

        func run() async throws {
            let letters = try await options.withRedis { try await WebhookDeadLetters(redis: $0).list(endpointID: id, limit: limit) }
            print("DEAD-ID".padding(toLength: 18, withPad: " ", startingAt: 0) + "EVENT".padding(toLength: 40, withPad: " ", startingAt: 0) + "ATTEMPTS  ERROR")
            for letter in letters {
                print(letter.deadID.padding(toLength: 18, withPad: " ", startingAt: 0) + (letter.event.id + " ").padding(toLength: 40, withPad: " ", startingAt: 0)
                    + String(letter.attempts).padding(toLength: 10, withPad: " ", startingAt: 0) + letter.error)
            }
        }
    }

    struct DeadReplay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay", abstract: "Send an endpoint's dead letters again (oldest first), to that endpoint only.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Endpoint id (wh_...).") var id: String
        @Option(help: "How many at most (1-10000).") var limit: Int = 1_000

        func validate() throws {
            guard WebhookRegistry.isValidID(id) else { throw ValidationError("not an endpoint id: \(id)") }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1...10000") }
        }

        func run() async throws {
            let moved = try await options.withRedis { redis in
                guard let entry = try await WebhookRegistry(redis: redis).find(id) else { throw CannedFailure("no webhook \(id)") }
                if entry.status.paused { throw CannedFailure("webhook \(id) is paused: resume it first (cs-admin webhook resume \(id))") }
                return try await WebhookDeadLetters(redis: redis).replay(endpointID: id, limit: limit)
            }
            print("\(moved) dead letters of \(id) queued again")
        }
    }
}
