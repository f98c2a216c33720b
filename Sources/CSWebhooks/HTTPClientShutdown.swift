import AsyncHTTPClient
import ServiceLifecycle

/// Shuts the HTTP client down when the process stops, after the deliverer (listed before it:
/// a service group stops its services in reverse order).
struct HTTPClientShutdown: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
