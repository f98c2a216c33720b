import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// MARK: - HTTP

public struct HTTPResponse: Sendable, CustomStringConvertible {
    public let status: Int
    public let body: Data
    public let headers: [String: String]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
    public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }

    public var description: String { "HTTP \(status) \(bodyText)" }
}

public enum GatewayHTTPError: Error, CustomStringConvertible {
    case unexpectedResponse(request: String, HTTPResponse)
    case transport(request: String, String)

    public var description: String {
        switch self {
        case .unexpectedResponse(let request, let response): return "\(request) answered \(response)"
        case .transport(let request, let error): return "\(request) failed: \(error)"
        }
    }
}

/// A visitor session from `POST /v1/visitor/session`.
public struct VisitorSession: Sendable {
    public let visitorID: String
    public let name: String
    public let token: String
    public let response: JSONValue
}

/// An agent sign-in from `POST /v1/agent/login`.
public struct AgentSession: Sendable {
    public let agentID: String
    public let name: String
    public let token: String
    public let response: JSONValue
}

/// The HTTP endpoints of one gateway (docs/api.md).
public struct GatewayHTTP: Sendable {
    public let baseURL: URL

    public init(baseURL: URL) { self.baseURL = baseURL }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.connectionProxyDictionary = [:]
        return URLSession(configuration: configuration)
    }()

    public func get(_ path: String, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await request("GET", path, body: nil, headers: headers, timeout: timeout)
    }

    public func post(_ path: String, json: JSONValue, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await post(path, body: json.jsonText, headers: headers, timeout: timeout)
    }

    public func post(_ path: String, body: String, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        var all = ["Content-Type": "application/json"]
        for (key, value) in headers { all[key] = value }
        return try await request("POST", path, body: Data(body.utf8), headers: all, timeout: timeout)
    }

    public func request(_ method: String, _ path: String, body: Data?, headers: [String: String], timeout: Duration) async throws -> HTTPResponse {
        var request = URLRequest(url: url(path))
        request.httpMethod = method
        request.httpBody = body
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        request.timeoutInterval = seconds
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let description = "\(method) \(baseURL.absoluteString)\(path)"
        let finalRequest = request
        do {
            return try await TimeLimit.run(timeout + .seconds(5), description) {
                let (data, response) = try await GatewayHTTP.session.data(for: finalRequest)
                guard let http = response as? HTTPURLResponse else {
                    throw GatewayHTTPError.transport(request: description, "not an HTTP response")
                }
                var fields: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
                }
                return HTTPResponse(status: http.statusCode, body: data, headers: fields)
            }
        } catch let error as GatewayHTTPError {
            throw error
        } catch let error as TimeLimitExceeded {
            throw error
        } catch {
            throw GatewayHTTPError.transport(request: description, String(describing: error))
        }
    }

    /// `baseURL` + `path`; a query string in `path` (`?after=0&limit=50`) is kept as a query.
    public func url(_ path: String) -> URL {
        guard path.contains("?"), let url = URL(string: baseURL.absoluteString + path) else {
            return baseURL.appendingPathComponent(path)
        }
        return url
    }

    /// `POST /v1/visitor/session`; expects 200 with `visitorId` and `token`.
    public func visitorSession(name: String? = nil, token: String? = nil) async throws -> VisitorSession {
        var body: [String: JSONValue] = [:]
        if let name { body["name"] = .string(name) }
        if let token { body["token"] = .string(token) }
        let response = try await post("/v1/visitor/session", json: .object(body))
        guard response.status == 200, let json = response.json,
            let visitorID = json["visitorId"]?.stringValue, let token = json["token"]?.stringValue
        else {
            throw GatewayHTTPError.unexpectedResponse(request: "POST /v1/visitor/session", response)
        }
        return VisitorSession(visitorID: visitorID, name: json["name"]?.stringValue ?? "", token: token, response: json)
    }

    /// `POST /v1/agent/login`; expects 200 with `token` and `agent`.
    public func agentLogin(agentID: String, password: String) async throws -> AgentSession {
        let response = try await post("/v1/agent/login", json: ["agentId": .string(agentID), "password": .string(password)])
        guard response.status == 200, let json = response.json, let token = json["token"]?.stringValue else {
            throw GatewayHTTPError.unexpectedResponse(request: "POST /v1/agent/login", response)
        }
        return AgentSession(
            agentID: json["agent"]?["id"]?.stringValue ?? agentID,
            name: json["agent"]?["name"]?.stringValue ?? "",
            token: token,
            response: json
        )
    }

    /// `GET /readyz` status code.
    public func readyStatus() async throws -> Int {
        try await get("/readyz", timeout: .seconds(5)).status
    }
}
