module example.com/plain-app

go 1.22
