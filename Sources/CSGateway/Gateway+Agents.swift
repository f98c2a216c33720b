import CSCore
import CSServer
import Foundation
import HTTPTypes
import Hummingbird

extension GatewayContext {
    /// Agent accounts over HTTP (docs/api.md, "Agents"): what `cs-admin agent` does, for
    /// supervisors (JWT) and back-office systems (`X-Admin-Key`).
    func addAgentRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/v1/agents") { request, _ in
            await Self.answer {
                _ = try await self.agentAdminCaller(request)
                let agents = try await self.agents.list()
                let loads = try await self.agents.loads()
                let items = agents.map { Self.render($0, load: loads[$0.id] ?? 0) }
                return Self.json(.ok, #"{"agents":["# + items.joined(separator: ",") + "]}")
            }
        }
        router.post("/v1/agents") { request, _ in
            await Self.answer { try await self.createAgent(request) }
        }
        router.patch("/v1/agents/:id") { request, context in
            await Self.answer { try await self.updateAgent(request, id: context.parameters.get("id")) }
        }
        router.delete("/v1/agents/:id") { request, context in
            await Self.answer {
                let caller = try await self.agentAdminCaller(request)
                let id = try Self.validAgentID(context.parameters.get("id"))
                guard id != caller else { throw ChatError(.invalidField, "you cannot remove your own account") }
                guard try await self.agents.remove(id) else { throw ChatError(.notFound, "no agent \(id)") }
                self.logger.notice("agent removed", metadata: ["agent": "\(id)", "by": "\(caller)"])
                return Response(status: .noContent)
            }
        }
    }

    private struct AgentBody: Decodable {
        var id: String?
        var name: String?
        var password: String?
        var role: String?
        var skills: [String]?
        var maxConversations: Int?
    }

    private func createAgent(_ request: Request) async throws -> Response {
        let caller = try await agentAdminCaller(request)
        let body = try await Self.decode(AgentBody.self, from: request)
        let id = try Self.validAgentID(body.id)
        guard let name = body.name else { throw ChatError(.invalidField, "name is required") }
        guard let password = body.password else { throw ChatError(.invalidField, "password is required") }
        guard try await agents.find(id) == nil else { throw ChatError(.invalidField, "agent \(id) exists; change it with PATCH") }
        let role = try Self.validRole(body.role ?? "agent")
        var record = AgentRecord(
            id: id, name: try Self.validName(name), role: role, skills: try Self.validSkills(body.skills ?? [ConversationRules.defaultSkill]),
            maxConversations: try Self.validCapacity(body.maxConversations ?? 3), passwordHash: "")
        record.passwordHash = try await passwordWork.hash(try Self.validPassword(password))
        // No revocation needed: a removal of the same id already raised its token version.
        try await agents.save(record)
        try await routing.wakeDrainer()
        logger.notice("agent created", metadata: ["agent": "\(id)", "by": "\(caller)"])
        return Self.json(.created, Self.render(record, load: 0))
    }

    private func updateAgent(_ request: Request, id rawID: String?) async throws -> Response {
        let caller = try await agentAdminCaller(request)
        let id = try Self.validAgentID(rawID)
        let body = try await Self.decode(AgentBody.self, from: request)
        guard body.id == nil || body.id == id, body.role == nil else { throw ChatError(.invalidField, "id and role cannot be changed") }
        guard var record = try await agents.find(id) else { throw ChatError(.notFound, "no agent \(id)") }
        if let name = body.name { record.name = try Self.validName(name) }
        if let skills = body.skills { record.skills = try Self.validSkills(skills) }
        if let capacity = body.maxConversations { record.maxConversations = try Self.validCapacity(capacity) }
        if let password = body.password { record.passwordHash = try await passwordWork.hash(try Self.validPassword(password)) }
        // A new password ends every session signed in with the old one.
        try await agents.save(record, revokingTokens: body.password != nil)
        // More capacity or a new skill may serve waiting customers now.
        try await routing.wakeDrainer()
        logger.notice("agent changed", metadata: ["agent": "\(id)", "by": "\(caller)"])
        let load = try await agents.loads()[id] ?? 0
        return Self.json(.ok, Self.render(record, load: load))
    }

    /// "admin" for a valid `X-Admin-Key`, else the supervisor's id; anyone else is refused.
    private func agentAdminCaller(_ request: Request) async throws -> String {
        if let presented = request.headers[HTTPField.Name("X-Admin-Key")!] {
            guard let adminKey = configuration.adminKey,
                presented.utf8.count == adminKey.utf8.count,
                zip(presented.utf8, adminKey.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0
            else { throw ChatError(.unauthorized, "invalid admin key") }
            return "admin"
        }
        let caller = try await authenticate(request)
        guard caller.role == .supervisor else {
            logger.warning("forbidden agent API call", metadata: ["user": "\(caller.id)"])
            throw ChatError(.forbidden, "supervisors only")
        }
        return caller.id
    }

    private static func validAgentID(_ raw: String?) throws -> String {
        guard let id = raw.map({ $0.removingPercentEncoding ?? $0 }), Identifier.isValid(id) else {
            throw ChatError(.invalidField, "id must be 1-64 characters of [A-Za-z0-9._-]")
        }
        return id
    }

    private static func validName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if let problem = DisplayName.problem(trimmed) { throw ChatError(.invalidField, problem) }
        return trimmed
    }

    /// At least `minimumPasswordLength` characters: with sign-ins throttled per account and per
    /// address, that is beyond online guessing.
    static let minimumPasswordLength = 10

    private static func validPassword(_ password: String) throws -> String {
        guard password.count >= minimumPasswordLength, password.utf8.count <= 1024 else {
            throw ChatError(.invalidField, "password must be \(minimumPasswordLength)-1024 characters")
        }
        return password
    }

    private static func validRole(_ raw: String) throws -> ParticipantRole {
        guard let role = ParticipantRole(rawValue: raw), role.isStaff else { throw ChatError(.invalidField, "role must be agent or supervisor") }
        return role
    }

    private static func validSkills(_ skills: [String]) throws -> [String] {
        var seen = Set<String>()
        let unique = skills.filter { seen.insert($0).inserted }
        guard (1...50).contains(unique.count) else { throw ChatError(.invalidField, "skills must hold 1-50 skills") }
        for skill in unique where !Identifier.isValid(skill, maxLength: ClientFrame.Limits.maxSkillLength) {
            throw ChatError(.invalidField, "a skill must be 1-32 characters of [A-Za-z0-9._-]")
        }
        return unique
    }

    private static func validCapacity(_ capacity: Int) throws -> Int {
        guard (1...100).contains(capacity) else { throw ChatError(.invalidField, "maxConversations must be 1...100") }
        return capacity
    }

    /// An agent as the API shows it (sign-in and the agents API); `load` only in the latter.
    static func render(_ agent: AgentRecord, load: Int?) -> String {
        var json = JSONText()
        json.raw("{")
        json.field("id", agent.id, first: true)
        json.field("name", agent.name)
        json.field("role", agent.role.rawValue)
        json.key("skills")
        json.raw("[" + agent.skills.map(Self.quoted).joined(separator: ",") + "]")
        json.field("maxConversations", agent.maxConversations)
        if let load { json.field("load", load) }
        json.raw("}")
        return json.text
    }
}
