/// The version `referstream --version` prints: the one place it is written (bump it with each release).
let referStreamVersion = "0.1.0"
