import HTTPTypes
import Hummingbird

/// Cross-origin access for the customer widget embedded in other sites: the endpoints it calls
/// (visitor session, offline messages, a conversation's history and rating) answer pages from an
/// allowed origin (`--allowed-origins`, the same list as the WebSocket's) with CORS headers, and
/// their preflight `OPTIONS` requests with 204. Staff endpoints stay same-origin.
struct WidgetCORSMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let origins: OriginPolicy

    /// The parameter names must be those of the GET routes (the router refuses two names at one place).
    static let widgetPaths = ["/v1/visitor/session", "/v1/offline-messages", "/v1/conversations/:conversationId/messages", "/v1/conversations/:conversationId/rating",
        "/v1/conversations/:conversationId/attachments", "/v1/conversations/:conversationId/attachments/:attachmentId/link"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let origin = request.headers[.origin], path == "/v1/visitor/session" || path == "/v1/offline-messages" || path.hasPrefix("/v1/conversations/"),
            origins.allowsCrossOrigin(origin)
        else { return try await next(request, context) }
        var response: Response
        if request.method == .options {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            response = try await next(request, context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}

extension OriginPolicy {
    /// Whether a page from `origin` on another site may call the widget's endpoints.
    func allowsCrossOrigin(_ origin: String) -> Bool {
        guard let normalized = GatewayConfiguration.normalizedOrigin(origin) else { return false }
        return allowsAny || allowed.contains(normalized)
    }
}

extension GatewayContext {
    /// Adds the widget's CORS support; must come before the routes it covers are added.
    func addWidgetCORS(to router: Router<GatewayRequestContext>) {
        router.add(middleware: WidgetCORSMiddleware(origins: OriginPolicy(allowedOrigins: configuration.allowedOrigins)))
        for path in WidgetCORSMiddleware.widgetPaths {
            router.on(RouterPath(path), method: .options) { _, _ in Response(status: .noContent) }
        }
    }
}
