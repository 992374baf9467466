"""What people see: case views, desks, statistics, the public timeline, documents. Reads commit nothing and build no URLs."""
