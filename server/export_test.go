package server

// TestUsers is the tester's user database (account name -> NT hash), for
// the server_test package.
type TestUsers = testUsers
