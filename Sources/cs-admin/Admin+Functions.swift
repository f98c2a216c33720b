import ArgumentParser
import CSDispatcher
import CSGateway
import CSNotifier
import CSRedis
import CSServer
import CSWebhooks

/// The Redis function libraries every process calls (docs/operations.md, "Redis functions").
/// With Redis ACLs the process roles may only `FCALL` their functions, not load them: this is
/// the deploy step that does, before the processes start and after every upgrade.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions", abstract: "Load the Redis function libraries, or show which are loaded.",
        subcommands: [Load.self, Status.self])

    /// Every library of every role, each once.
    static var libraries: [RedisFunctionLibrary] {
        var seen = Set<String>()
        return (GatewayFunctions.libraries + DispatcherFunctions.libraries + NotifierFunctions.libraries + WebhookFunctions.libraries)
            .filter { seen.insert($0.name).inserted }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load every library that is missing or of another version (FUNCTION LOAD REPLACE).")
        @OptionGroup var options: AdminOptions

        func run() async throws {
            try await options.withRedis { redis in
                redis.register(FunctionsCommand.libraries)
                try await redis.installFunctions()
            }
            for library in FunctionsCommand.libraries {
                print("\(library.name): \(library.functions.count) functions, this version loaded")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Whether each library is loaded in this version; exits 1 when one is not.")
        @OptionGroup var options: AdminOptions

        func run() async throws {
            let current = try await options.withRedis { redis in
                try await FunctionsCommand.libraries.asyncMap { library in
                    let reply = try await redis.send("FUNCTION", "LIST", "LIBRARYNAME", .init(library.name), "WITHCODE")
                    return (library.name, RedisClient.loadedCode(of: library.name, in: reply).map { $0 == library.code })
                }
            }
            for (name, state) in current {
                print("\(name): \(state == nil ? "missing" : state == true ? "loaded, this version" : "loaded, another version")")
            }
            if current.contains(where: { $0.1 != true }) { throw ExitCode(1) }
        }
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
