import NIOCore

extension RedisClient {
    /// Remembers the libraries whose functions this client calls, so that ``installFunctions()``
    /// installs them and a call that finds its function gone (a `FUNCTION FLUSH`, a Redis that
    /// lost its data) loads its library again by itself. Call it before the first call.
    public func register(_ libraries: [RedisFunctionLibrary]) {
        self.functionLibraries.withLock { known in
            for library in libraries { for function in library.functions { known[function.name] = library } }
        }
    }

    /// The libraries given to ``register(_:)``, by name.
    public var registeredLibraries: [RedisFunctionLibrary] {
        let all = self.functionLibraries.withLock { Array($0.values) }
        var seen = Set<String>()
        return all.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
    }

    /// Makes sure Redis holds every registered library with exactly this code: one round trip
    /// asks (`FUNCTION LIST LIBRARYNAME … WITHCODE`), and only missing or different libraries are
    /// loaded (`FUNCTION LOAD REPLACE`).
    ///
    /// - Throws: ``RedisError`` with code `functionsNotLoaded` when a library is missing or
    ///   different and this user may not load it (`NOPERM`): with Redis ACLs the deploy step
    ///   loads them (`cs-admin functions load`, docs/operations.md); other errors as ``send(_:)-([RedisArgument])``.
    public func installFunctions() async throws {
        let libraries = self.registeredLibraries
        let listed = try await self.pipeline(libraries.map { ["FUNCTION", "LIST", "LIBRARYNAME", RedisArgument($0.name), "WITHCODE"] })
        for (library, reply) in zip(libraries, listed) {
            if let error = reply.redisError, error.redisErrorPrefix != "NOPERM" { throw error }
            // No right to list them: loading decides (it fails the same way without the right).
            if reply.redisError == nil, Self.loadedCode(of: library.name, in: reply) == library.code { continue }
            try await self.load(library)
        }
    }

    /// Loads `library` with `FUNCTION LOAD REPLACE`, turning a refusal into a clear error.
    public func load(_ library: RedisFunctionLibrary) async throws {
        do {
            _ = try await self.send(library.loadCommand)
        } catch let error as RedisError where error.redisErrorPrefix == "NOPERM" {
            throw RedisError(
                code: .functionsNotLoaded,
                message: "Redis lacks function library \(library.name) in this version and this user may not load it: "
                    + "run `cs-admin functions load` (docs/operations.md) (\(error.message))")
        }
    }

    /// Loads again the library that `script` was installed with; false when it was never
    /// installed on this client (then the missing function is an error to report).
    public func reloadFunctions(for script: RedisScript) async throws -> Bool {
        guard let library = self.functionLibraries.withLock({ $0[script.name] }) else { return false }
        try await self.load(library)
        return true
    }

    /// Calls `script` (`FCALL`); when Redis has lost the function, loads its library again and
    /// calls once more.
    /// - Throws: ``RedisError`` as ``send(_:)-([RedisArgument])`` does (a script error is a `serverError`).
    public func callFunction(
        _ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = []
    ) async throws -> RESPValue {
        do {
            return try await self.send(script.callCommand(keys: keys, arguments: arguments))
        } catch let error as RedisError where error.isMissingFunction {
            guard try await self.reloadFunctions(for: script) else { throw error }
            return try await self.send(script.callCommand(keys: keys, arguments: arguments))
        }
    }

    /// ``callFunction(_:keys:arguments:)`` without a task (for callers on an event loop); nil when
    /// there is no live connection right now.
    public func callFunctionNow(
        _ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = []
    ) -> EventLoopFuture<RESPValue>? {
        guard let first = sendNow(script.callCommand(keys: keys, arguments: arguments)) else { return nil }
        return first.flatMapError { error in
            guard let error = error as? RedisError, error.isMissingFunction,
                let library = self.functionLibraries.withLock({ $0[script.name] }),
                let load = self.sendNow(library.loadCommand)
            else { return first.eventLoop.makeFailedFuture(error) }
            return load.flatMap { _ in
                self.sendNow(script.callCommand(keys: keys, arguments: arguments))
                    ?? first.eventLoop.makeFailedFuture(error)
            }
        }
    }

    /// The `library_code` of library `name` in a `FUNCTION LIST … WITHCODE` reply.
    public static func loadedCode(of name: String, in reply: RESPValue) -> String? {
        for library in reply.array ?? [] {
            let fields = library.array ?? []
            var properties: [String: RESPValue] = [:]
            var index = 0
            while index + 1 < fields.count {
                if let key = fields[index].string { properties[key] = fields[index + 1] }
                index += 2
            }
            if properties["library_name"]?.string == name { return properties["library_code"]?.string }
        }
        return nil
    }
}

extension RedisError {
    /// `FCALL` of a function Redis does not hold (`ERR Function not found`).
    public var isMissingFunction: Bool {
        code == .serverError && message.hasPrefix("ERR Function not found")
    }
}
