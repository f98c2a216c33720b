import AsyncHTTPClient
import CSCore
import CSServer
import NIOCore
import NIOHTTP1

/// Posts one event to one endpoint (docs/api.md "Webhook requests"): the URL policy checked again
/// (the name resolved now: it may point elsewhere than at registration), redirects never
/// followed (a 3xx is a failure), connect and read timeouts, at most `responseBodyLimit` bytes
/// of the answer read. Only a 2xx is a delivery.
struct WebhookPoster: Sendable {
    let client: HTTPClient
    let policy: WebhookURLPolicy
    /// The whole request, from connect to the last byte read.
    let requestTimeout: TimeAmount
    let responseBodyLimit: Int

    enum Outcome: Sendable, Equatable {
        case delivered(status: Int)
        /// Short, for logs and the endpoint's last error: never a response body.
        case failed(String)

        var isDelivered: Bool { if case .delivered = self { true } else { false } }
    }

    /// An HTTP client that never follows redirects, with the given timeouts.
    static func makeClient(connectTimeout: TimeAmount, readTimeout: TimeAmount) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: connectTimeout, read: readTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func post(_ event: WebhookEvent, to endpoint: WebhookEndpoint, nowSeconds: Int64) async -> Outcome {
        if case .failure(let refusal) = await WebhookTargetCheck.check(endpoint.url, policy: policy) {
            return .failed("refused: \(refusal.reason)")
        }
        let body = Array(event.body.utf8)
        let signature = WebhookSignature(secret: endpoint.secret, timestamp: nowSeconds, body: body)
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "cs-webhooks")
        request.headers.add(name: WebhookSignature.eventIdHeader, value: event.id)
        request.headers.add(name: "X-CS-Event-Type", value: event.type.rawValue)
        request.headers.add(name: WebhookSignature.timestampHeader, value: String(nowSeconds))
        request.headers.add(name: WebhookSignature.signatureHeader, value: signature.headerValue)
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: requestTimeout)
            // Read (and drop) at most the limit: a receiver cannot make us hold a large answer.
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read >= responseBodyLimit { break }
            }
            let status = Int(response.status.code)
            return (200..<300).contains(status) ? .delivered(status: status) : .failed("HTTP \(status)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failed("timeout")
        } catch let error as HTTPClientError where error == .connectTimeout {
            return .failed("connect timeout")
        } catch {
            return .failed(String("\(error)".prefix(120)))
        }
    }
}
