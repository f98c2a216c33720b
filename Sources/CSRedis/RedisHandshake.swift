/// The commands sent right after connecting, and how their replies are judged.
enum RedisHandshake {
    enum Kind { case auth, select, setName }

    struct Step {
        let kind: Kind
        let command: [RedisArgument]
    }

    /// `AUTH` (if a password is configured), `SELECT` (if `selectDatabase` and db != 0), `CLIENT SETNAME` (if set).
    static func steps(for configuration: RedisConfiguration, selectDatabase: Bool) -> [Step] {
        var steps: [Step] = []
        if let password = configuration.password {
            if let username = configuration.username {
                steps.append(Step(kind: .auth, command: ["AUTH", RedisArgument(username), RedisArgument(password)]))
            } else {
                steps.append(Step(kind: .auth, command: ["AUTH", RedisArgument(password)]))
            }
        }
        if selectDatabase, configuration.database != 0 {
            steps.append(Step(kind: .select, command: ["SELECT", RedisArgument(configuration.database)]))
        }
        if let clientName = configuration.clientName {
            steps.append(Step(kind: .setName, command: ["CLIENT", "SETNAME", RedisArgument(clientName)]))
        }
        return steps
    }

    /// Throws ``RedisError/Code/authenticationFailed`` for a rejected `AUTH`, ``RedisError/Code/serverError`` otherwise.
    static func validate(steps: [Step], replies: [RESPValue]) throws {
        for (step, reply) in zip(steps, replies) {
            try self.validate(step: step, reply: reply)
        }
    }

    static func validate(step: Step, reply: RESPValue) throws {
        guard case .error(let message) = reply else { return }
        switch step.kind {
        case .auth: throw RedisError(code: .authenticationFailed, message: message)
        case .select, .setName: throw RedisError.server(message)
        }
    }
}
