import CSCore
import CSServer
import Foundation
import Hummingbird

extension GatewayContext {
    /// Canned responses (docs/api.md, "Canned responses"): agents and supervisors list the team's
    /// and their own; supervisors change the team's; everyone staff changes their own.
    func addCannedResponseRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/v1/canned-responses") { request, _ in
            await Self.answer { try await self.listCannedResponses(request) }
        }
        router.put("/v1/canned-responses/team/:shortcut") { request, context in
            await Self.answer { try await self.saveCannedResponse(request, shortcut: context.parameters.get("shortcut"), team: true) }
        }
        router.put("/v1/canned-responses/me/:shortcut") { request, context in
            await Self.answer { try await self.saveCannedResponse(request, shortcut: context.parameters.get("shortcut"), team: false) }
        }
        router.delete("/v1/canned-responses/team/:shortcut") { request, context in
            await Self.answer { try await self.removeCannedResponse(request, shortcut: context.parameters.get("shortcut"), team: true) }
        }
        router.delete("/v1/canned-responses/me/:shortcut") { request, context in
            await Self.answer { try await self.removeCannedResponse(request, shortcut: context.parameters.get("shortcut"), team: false) }
        }
    }

    private var cannedResponses: CannedResponseStore { CannedResponseStore(redis: redis) }

    private func listCannedResponses(_ request: Request) async throws -> Response {
        let caller = try await cannedCaller(request)
        let (team, personal) = try await cannedResponses.listForAgent(caller.id)
        var json = JSONText()
        json.raw("{")
        json.key("team", first: true)
        Self.appendCanned(team, to: &json)
        json.key("personal")
        Self.appendCanned(personal, to: &json)
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private struct CannedResponseBody: Decodable {
        var text: String?
    }

    private func saveCannedResponse(_ request: Request, shortcut: String?, team: Bool) async throws -> Response {
        let caller = try await cannedCaller(request)
        let owner = try Self.cannedOwner(caller, team: team)
        let shortcut = try Self.validShortcut(shortcut)
        let body = try await Self.decode(CannedResponseBody.self, from: request)
        guard let text = body.text, CannedResponseStore.isValidText(text) else {
            throw ChatError(.invalidField, "text must be 1-\(CannedResponseStore.maxTextCharacters) characters")
        }
        let response = CannedResponse(shortcut: shortcut, text: text)
        try await cannedResponses.save(response, for: owner)
        var json = JSONText()
        Self.appendCanned(response, to: &json)
        return Self.json(.ok, json.text)
    }

    private func removeCannedResponse(_ request: Request, shortcut: String?, team: Bool) async throws -> Response {
        let caller = try await cannedCaller(request)
        let owner = try Self.cannedOwner(caller, team: team)
        let shortcut = try Self.validShortcut(shortcut)
        guard try await cannedResponses.remove(shortcut: shortcut, for: owner) else {
            throw ChatError(.notFound, "no canned response \(shortcut)")
        }
        return Response(status: .noContent)
    }

    /// The signed-in staff member; customers have no canned responses.
    private func cannedCaller(_ request: Request) async throws -> Participant {
        let caller = try await authenticate(request)
        guard caller.role.isStaff else { throw ChatError(.forbidden, "canned responses are for agents") }
        return caller
    }

    /// Team responses are changed by supervisors only; personal ones by their agent.
    private static func cannedOwner(_ caller: Participant, team: Bool) throws -> CannedResponseOwner {
        guard team else { return .agent(caller.id) }
        guard caller.role == .supervisor else { throw ChatError(.forbidden, "only supervisors change team canned responses") }
        return .team
    }

    private static func validShortcut(_ raw: String?) throws -> String {
        let shortcut = raw.map { $0.removingPercentEncoding ?? $0 } ?? ""
        guard CannedResponseStore.isValidShortcut(shortcut) else {
            throw ChatError(.invalidField, "shortcut must be 1-\(CannedResponseStore.maxShortcutLength) characters of [A-Za-z0-9._-]")
        }
        return shortcut
    }

    private static func appendCanned(_ responses: [CannedResponse], to json: inout JSONText) {
        json.raw("[")
        for (index, response) in responses.enumerated() {
            if index > 0 { json.raw(",") }
            appendCanned(response, to: &json)
        }
        json.raw("]")
    }

    private static func appendCanned(_ response: CannedResponse, to json: inout JSONText) {
        json.raw("{")
        json.field("shortcut", response.shortcut, first: true)
        json.field("text", response.text)
        json.raw("}")
    }
}
