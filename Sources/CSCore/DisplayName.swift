/// Rules for the names people are shown as (visitor names, agent names, offline-message
/// contacts): 1–80 characters, at most 400 Unicode scalars, no control characters and no
/// bidirectional overrides.
///
/// Counting characters alone would let one letter with thousands of combining marks through
/// (a 10 KB "one-character" name in every frame); bidirectional overrides (U+202E) and control
/// characters would let a customer spoof how their name reads in the agent console.
public enum DisplayName {
    public static let maxCharacters = 80
    public static let maxScalars = 400

    /// The reason `name` is refused, or nil when it is acceptable.
    public static func problem(_ name: String) -> String? {
        guard !name.isEmpty, name.count <= maxCharacters, name.unicodeScalars.count <= maxScalars else {
            return "name must be 1-\(maxCharacters) characters"
        }
        for scalar in name.unicodeScalars {
            if scalar.properties.generalCategory == .control { return "name must not contain control characters" }
            if (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                return "name must not contain bidirectional control characters"
            }
        }
        return nil
    }
}
