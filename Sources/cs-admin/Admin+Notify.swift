import ArgumentParser
import CSCore
import CSServer
import Foundation

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Send, schedule, list and cancel notifications.",
        subcommands: [Send.self, List.self, Show.self, Cancel.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a notification now or at a set time.")
        @OptionGroup var options: AdminOptions
        @Option(help: "all, agents, customers, skill:<skill> or users.") var audience: String
        @Option(help: "Comma-separated user ids (with --audience users).") var users: String?
        @Option(help: "Short title.") var title: String?
        @Option(help: "The text (1-2000 characters).") var body: String
        @Option(help: "info, warning or urgent.") var priority: String = "info"
        @Option(name: .customLong("send-at"), help: "ISO 8601 time, e.g. 2026-11-27T22:00:00Z (default: now).") var sendAt: String?
        @Option(name: .customLong("expires-at"), help: "ISO 8601 time (default: 7 days after sending).") var expiresAt: String?

        func run() async throws {
            let request = NotificationService.Request(
                audience: audience, users: users?.split(separator: ",").map { String($0) }, title: title, body: body,
                priority: priority, sendAt: sendAt, expiresAt: expiresAt)
            do {
                let notification = try await options.withRedis { try await NotificationService(redis: $0).create(request, by: "cs-admin") }
                print("notification \(notification.id) \(notification.status == .scheduled ? "scheduled" : "queued for sending")")
            } catch let error as ChatError {
                throw ValidationError("\(error.code.rawValue): \(error.message)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest notifications with their receipt counts.")
        @OptionGroup var options: AdminOptions
        @Option(help: "How many (1-200).") var limit: Int = 20

        func run() async throws {
            let items = try await options.withRedis { try await NotificationService(redis: $0).list(limit: max(1, min(limit, 200))) }
            print("ID              STATUS     PRIORITY AUDIENCE          DELIVERED ACKED READ  TITLE")
            for item in items {
                let n = item.notification
                print([n.id.padding(toLength: 15, withPad: " ", startingAt: 0), n.status.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0),
                       n.priority.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0), n.audience.selector.padding(toLength: 17, withPad: " ", startingAt: 0),
                       String(item.delivered).padding(toLength: 9, withPad: " ", startingAt: 0), String(item.acknowledged).padding(toLength: 5, withPad: " ", startingAt: 0),
                       String(item.read).padding(toLength: 5, withPad: " ", startingAt: 0), n.title.isEmpty ? String(n.body.prefix(30)) : n.title].joined(separator: " "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One notification with its receipt counts.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Notification id.") var id: String

        func run() async throws {
            guard let item = try await options.withRedis({ try await NotificationService(redis: $0).get(id) }) else {
                throw ValidationError("no notification \(id)")
            }
            let n = item.notification
            print("id \(n.id)\nstatus \(n.status.rawValue)\npriority \(n.priority.rawValue)\naudience \(n.audience.selector)")
            if case .users(let users) = n.audience { print("users \(users.joined(separator: ","))") }
            print("title \(n.title)\nbody \(n.body)\ndelivered \(item.delivered)\nacknowledged \(item.acknowledged)\nread \(item.read)")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a scheduled notification or withdraw a sent one.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Notification id.") var id: String

        func run() async throws {
            guard try await options.withRedis({ try await NotificationService(redis: $0).cancel(id) }) else {
                throw ValidationError("no notification \(id)")
            }
            print("notification \(id) cancelled")
        }
    }
}
