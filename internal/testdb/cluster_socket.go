package testdb

// SocketDir is the directory of the cluster's Unix-domain socket, for a URL's host=/path.
func (c *Cluster) SocketDir() string { return c.dir }
