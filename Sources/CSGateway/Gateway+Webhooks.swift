import CSCore
import CSServer
import Foundation
import Hummingbird

extension GatewayContext {
    /// Webhook endpoints (docs/api.md, "Webhooks"): supervisors (JWT) and back-office systems
    /// (`X-Admin-Key`) register, list, pause, resume and remove them.
    func addWebhookRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/v1/webhooks") { request, _ in
            await Self.answer {
                _ = try await self.supervisorOrAdmin(request, purpose: "webhooks")
                let items = try await self.webhooks.list().map { Self.render($0, secret: false) }
                return Self.json(.ok, #"{"webhooks":["# + items.joined(separator: ",") + "]}")
            }
        }
        router.post("/v1/webhooks") { request, _ in
            await Self.answer { try await self.addWebhook(request) }
        }
        router.delete("/v1/webhooks/:id") { request, context in
            await Self.answer {
                let caller = try await self.supervisorOrAdmin(request, purpose: "webhooks")
                let id = try Self.validWebhookID(context.parameters.get("id"))
                guard try await self.webhooks.remove(id) else { throw ChatError(.notFound, "no webhook \(id)") }
                self.logger.notice("webhook removed", metadata: ["webhook": "\(id)", "by": "\(caller)"])
                return Response(status: .noContent)
            }
        }
        for (action, paused) in [("pause", true), ("resume", false)] {
            router.post("/v1/webhooks/:id/\(action)") { request, context in
                await Self.answer {
                    let caller = try await self.supervisorOrAdmin(request, purpose: "webhooks")
                    let id = try Self.validWebhookID(context.parameters.get("id"))
                    guard try await self.webhooks.setPaused(id, paused: paused, reason: .manual, now: nowMilliseconds()),
                        let entry = try await self.webhooks.find(id)
                    else { throw ChatError(.notFound, "no webhook \(id)") }
                    self.logger.notice("webhook \(action)d", metadata: ["webhook": "\(id)", "by": "\(caller)"])
                    return Self.json(.ok, Self.render(entry, secret: false))
                }
            }
        }
    }

    private var webhooks: WebhookRegistry { WebhookRegistry(redis: redis) }

    private struct WebhookBody: Decodable {
        var url: String?
        var types: [String]?
        var secret: String?
    }

    private func addWebhook(_ request: Request) async throws -> Response {
        let caller = try await supervisorOrAdmin(request, purpose: "webhooks")
        let body = try await Self.decode(WebhookBody.self, from: request)
        guard let url = body.url else { throw ChatError(.invalidField, "url is required") }
        guard let names = body.types, !names.isEmpty, let types = WebhookEventType.parseList(names.joined(separator: ",")) else {
            throw ChatError(
                .invalidField, "types must list event types: " + WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ") + " (or \"*\")")
        }
        let endpoint = try await webhooks.add(
            url: url, types: types, secret: body.secret, createdBy: caller,
            policy: WebhookURLPolicy(allowPrivateTargets: configuration.allowPrivateWebhookTargets), now: nowMilliseconds())
        logger.notice("webhook added", metadata: ["webhook": "\(endpoint.id)", "by": "\(caller)"])
        return Self.json(.created, Self.render(.init(endpoint: endpoint, status: .init()), secret: true))
    }

    private static func validWebhookID(_ raw: String?) throws -> String {
        guard let id = raw, WebhookRegistry.isValidID(id) else { throw ChatError(.notFound, "no such webhook") }
        return id
    }

    /// One endpoint as the API shows it; the secret only in the answer to its registration.
    static func render(_ entry: WebhookRegistry.Entry, secret: Bool) -> String {
        var json = JSONText()
        json.raw("{")
        json.field("id", entry.endpoint.id, first: true)
        json.field("url", entry.endpoint.url)
        json.key("types")
        json.raw("[" + entry.endpoint.types.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]")
        if secret { json.field("secret", entry.endpoint.secret) }
        json.field("createdAt", entry.endpoint.createdAt)
        json.field("createdBy", entry.endpoint.createdBy)
        json.key("paused")
        json.raw(entry.status.paused ? "true" : "false")
        json.key("pausedReason")
        if let pause = entry.status.pause { json.string(pause.reason.rawValue) } else { json.raw("null") }
        json.key("pausedSince")
        json.raw(entry.status.pause.map { String($0.since) } ?? "null")
        json.key("lastError")
        if let failure = entry.status.failure { json.string(failure.error) } else { json.raw("null") }
        json.key("lastErrorAt")
        json.raw(entry.status.failure.map { String($0.at) } ?? "null")
        json.raw("}")
        return json.text
    }
}
